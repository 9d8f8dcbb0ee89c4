package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.io.DiffusersLayout.Component;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A single-file Stable Diffusion checkpoint ({@code .safetensors}) in the original CompVis/LDM key
 * layout: the UNet under {@code model.diffusion_model.}, the VAE under {@code first_stage_model.},
 * the CLIP text encoder under {@code cond_stage_model.transformer.}. A key map renames every tensor
 * to its diffusers key, the inverse of diffusers' {@code
 * convert_diffusers_to_original_stable_diffusion.py} and the counterpart of its {@code
 * single_file_utils.convert_ldm_*_checkpoint}, but computed from the architecture numbers ({@link
 * LdmArchitecture}) instead of SD v1.x's fixed numbering.
 *
 * <p>UNet (L = layers per block): {@code input_blocks.{1+i(L+1)+j}.0} is down level i's resnet j
 * and {@code .1} its attention; {@code input_blocks.{(i+1)(L+1)}.0.op} level i's downsampler;
 * {@code middle_block.{0,1,2}} = mid resnet 0, attention, resnet 1; {@code
 * output_blocks.{i(L+1)+j}.0/.1} up level i's resnet/attention j; the upsampler sits in the level's
 * last output block, at {@code .1} when the level has no attention and {@code .2} when it has.
 * Resnets rename {@code in_layers.0/2, emb_layers.1, out_layers.0/3, skip_connection} to {@code
 * norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut}; transformer blocks keep their names.
 * VAE: {@code encoder.down.i.block.j}, {@code decoder.up.(n-1-i).block.j} for diffusers' up block
 * i, {@code mid.block_1/2}, {@code mid.attn_1.{norm,q,k,v,proj_out}} (1×1-conv weights [C, C, 1,
 * 1], reshaped to diffusers' linear [C, C]), {@code nin_shortcut} = {@code conv_shortcut}, {@code
 * norm_out} = {@code conv_norm_out}. Text encoder: the transformers key after the prefix.
 *
 * <p>LDM training leftovers that no model uses (the DDPM schedule buffers, {@code model_ema.*}, the
 * text encoder's {@code position_ids}) are skipped; any other key that does not fit is bad input.
 */
public final class SingleFileCheckpoint {
  private static final String UNET = "model.diffusion_model.";
  private static final String VAE = "first_stage_model.";
  private static final String TEXT = "cond_stage_model.transformer.";

  /** Buffers of LDM's {@code LatentDiffusion} that hold no model weights. */
  private static final Set<String> IGNORED =
      Set.of(
          "betas",
          "alphas_cumprod",
          "alphas_cumprod_prev",
          "sqrt_alphas_cumprod",
          "sqrt_one_minus_alphas_cumprod",
          "log_one_minus_alphas_cumprod",
          "sqrt_recip_alphas_cumprod",
          "sqrt_recipm1_alphas_cumprod",
          "posterior_variance",
          "posterior_log_variance_clipped",
          "posterior_mean_coef1",
          "posterior_mean_coef2",
          "logvar",
          TEXT + "text_model.embeddings.position_ids");

  private static final String EMA = "model_ema.";

  private SingleFileCheckpoint() {}

  /**
   * Where one LDM tensor goes.
   *
   * @param component UNET, VAE or TEXT_ENCODER
   * @param key the full dotted diffusers key within the component
   * @param squeezeConv a 1×1-conv weight [C, C, 1, 1] that diffusers stores as a linear [C, C]
   */
  public record Target(Component component, String key, boolean squeezeConv) {}

  /** The converted tensors of each component, keyed by diffusers names (float32). */
  public record Components(
      Map<String, NDArray> unet, Map<String, NDArray> vae, Map<String, NDArray> textEncoder) {

    /** The tensors of one component. */
    public Map<String, NDArray> get(Component c) {
      return switch (c) {
        case UNET -> unet;
        case VAE -> vae;
        case TEXT_ENCODER -> textEncoder;
        default -> throw new IllegalArgumentException(c.key + " has no weights");
      };
    }
  }

  /**
   * Loads a single-file checkpoint into {@code manager}, every tensor as float32 under its
   * diffusers key. A pickle file, a malformed file, a non-float tensor or a key that does not fit
   * the architecture is a {@link BadInputException} naming the file and key.
   *
   * <p>The tensors are read one at a time into one direct buffer the size of the largest (SD v1.4
   * F32: the 152 MB token embedding), not mapped, so memory holds the float32 model and that buffer
   * rather than also every tensor's mapped pages until a GC unmaps them.
   */
  public static Components load(Path file, LdmArchitecture arch, NDManager manager) {
    try (SafeTensors st = SafeTensors.open(file)) {
      return load(st, arch, manager);
    }
  }

  /** As {@link #load(Path, LdmArchitecture, NDManager)}, from an open file. */
  public static Components load(SafeTensors st, LdmArchitecture arch, NDManager manager) {
    Map<String, Target> map = keyMap(st.keys(), arch, st.path().toString());
    ByteBuffer scratch = st.scratch();
    Map<Component, Map<String, NDArray>> out = new HashMap<>();
    for (Component c : new Component[] {Component.UNET, Component.VAE, Component.TEXT_ENCODER}) {
      out.put(c, new LinkedHashMap<>());
    }
    for (Map.Entry<String, Target> e : map.entrySet()) {
      String k = e.getKey();
      Target t = e.getValue();
      TensorInfo info = st.info(k);
      if (!info.dtype().isFloat()) {
        throw new BadInputException(
            st.path()
                + ": tensor '"
                + k
                + "' is "
                + info.dtype()
                + ", but model weights must be F32, F16 or BF16");
      }
      NDArray a = st.load(k, manager, scratch);
      if (t.squeezeConv()) {
        a = squeezeConv(st.path(), k, a);
      }
      out.get(t.component()).put(t.key(), a);
    }
    return new Components(
        Collections.unmodifiableMap(out.get(Component.UNET)),
        Collections.unmodifiableMap(out.get(Component.VAE)),
        Collections.unmodifiableMap(out.get(Component.TEXT_ENCODER)));
  }

  /** [C, C, 1, 1] → [C, C]; a [C, C] weight (already linear) is kept. */
  private static NDArray squeezeConv(Path file, String key, NDArray a) {
    long[] s = a.getShape().getShape();
    if (s.length == 2) {
      return a;
    }
    if (s.length == 4 && s[2] == 1 && s[3] == 1) {
      return a.reshape(s[0], s[1]);
    }
    throw new BadInputException(
        file
            + ": tensor '"
            + key
            + "' has shape "
            + a.getShape()
            + ", expected a [C, C, 1, 1] or [C, C] attention weight");
  }

  /**
   * The key map of a checkpoint's keys: LDM key → diffusers target, in the given order, skipping
   * the training leftovers. A key that does not fit (unknown prefix or name, a block index outside
   * the architecture) or two keys landing on one diffusers key is a {@link BadInputException}
   * naming the key and {@code source}.
   */
  public static Map<String, Target> keyMap(
      Collection<String> ldmKeys, LdmArchitecture arch, String source) {
    Mapper mapper = new Mapper(arch);
    Map<String, Target> map = new LinkedHashMap<>();
    Map<String, String> seen = new HashMap<>();
    for (String k : ldmKeys) {
      if (IGNORED.contains(k) || k.startsWith(EMA)) {
        continue;
      }
      Target t;
      try {
        t = mapper.map(k);
      } catch (Unmapped u) {
        throw new BadInputException(
            source
                + ": key '"
                + k
                + "' does not fit the CompVis/LDM layout of this architecture ("
                + u.getMessage()
                + ")");
      }
      String other = seen.put(t.component().key + "/" + t.key(), k);
      if (other != null) {
        throw new BadInputException(
            source
                + ": keys '"
                + other
                + "' and '"
                + k
                + "' both map to "
                + t.component().key
                + " '"
                + t.key()
                + "'");
      }
      map.put(k, t);
    }
    return Collections.unmodifiableMap(map);
  }

  /**
   * The inverse of {@link #keyMap}: for the diffusers keys of each component (UNET, VAE,
   * TEXT_ENCODER), the LDM key each is written under, mapped to the {@link Target} that {@link
   * #keyMap} reads it back as; sorted by LDM key. Every LDM key is checked by mapping it forward
   * again, so that the writer and the loader cannot drift apart: a key whose round trip does not
   * come back to itself (one outside the architecture, an unknown name) is a {@link
   * BadInputException} naming the key and {@code source}. Keys the loader skips (the text encoder's
   * {@code position_ids}) are left out.
   */
  public static SortedMap<String, Target> ldmKeyMap(
      Map<Component, ? extends Collection<String>> diffusersKeys,
      LdmArchitecture arch,
      String source) {
    Mapper mapper = new Mapper(arch);
    SortedMap<String, Target> map = new TreeMap<>();
    for (Map.Entry<Component, ? extends Collection<String>> e : diffusersKeys.entrySet()) {
      Component c = e.getKey();
      for (String k : e.getValue()) {
        String where = source + ": " + c.key + " key '" + k + "'";
        String ldm;
        Target back;
        try {
          ldm = mapper.unmap(c, k);
          if (IGNORED.contains(ldm)) {
            continue;
          }
          back = mapper.map(ldm);
        } catch (Unmapped u) {
          throw new BadInputException(
              where
                  + " has no place in the CompVis/LDM layout of this architecture ("
                  + u.getMessage()
                  + ")");
        }
        if (back.component() != c || !back.key().equals(k)) {
          throw new BadInputException(
              where
                  + " does not fit the CompVis/LDM layout of this architecture: it would be"
                  + " written as '"
                  + ldm
                  + "', which reads back as "
                  + back.component().key
                  + " '"
                  + back.key()
                  + "'");
        }
        map.put(ldm, back); // the round trip makes the inverse one-to-one
      }
    }
    return Collections.unmodifiableSortedMap(map);
  }

  /** SHA-256 (lowercase hex) of the file's bytes, as {@code sha256sum} prints it; streamed. */
  public static String modelHash(Path file) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
      while (ch.read(buf) >= 0) {
        buf.flip();
        sha.update(buf);
        buf.clear();
      }
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return java.util.HexFormat.of().formatHex(sha.digest());
  }

  /** Why a key does not map; turned into a BadInputException naming the key. */
  private static final class Unmapped extends RuntimeException {
    Unmapped(String reason) {
      super(reason, null, false, false);
    }
  }

  /** The renaming rules for one architecture. */
  private static final class Mapper {
    private static final String P = "(weight|bias)";
    private static final Pattern TIME_EMBED = Pattern.compile("time_embed\\.([02])\\." + P);
    private static final Pattern CONV_IN = Pattern.compile("input_blocks\\.0\\.0\\." + P);
    private static final Pattern OUT = Pattern.compile("out\\.([02])\\." + P);
    private static final Pattern INPUT = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE = Pattern.compile("middle_block\\.(\\d+)\\.(.+)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern RESBLOCK =
        Pattern.compile(
            "(in_layers\\.0|in_layers\\.2|emb_layers\\.1|out_layers\\.0|out_layers\\.3"
                + "|skip_connection)\\."
                + P);
    private static final Map<String, String> RESBLOCK_NAMES =
        Map.of(
            "in_layers.0", "norm1",
            "in_layers.2", "conv1",
            "emb_layers.1", "time_emb_proj",
            "out_layers.0", "norm2",
            "out_layers.3", "conv2",
            "skip_connection", "conv_shortcut");
    // Transformer2DModel: same names in LDM's SpatialTransformer and diffusers.
    private static final Pattern TRANSFORMER =
        Pattern.compile(
            "((norm|proj_in|proj_out)\\."
                + P
                + "|transformer_blocks\\.\\d+\\.(norm[123]\\."
                + P
                + "|attn[12]\\.to_[qkv]\\.weight|attn[12]\\.to_out\\.0\\."
                + P
                + "|ff\\.net\\.0\\.proj\\."
                + P
                + "|ff\\.net\\.2\\."
                + P
                + "))");
    private static final Pattern SAMPLER_OP = Pattern.compile("op\\." + P);
    private static final Pattern SAMPLER_CONV = Pattern.compile("conv\\." + P);

    private static final Pattern VAE_SAME =
        Pattern.compile(
            "((encoder|decoder)\\.(conv_in|conv_out)|quant_conv|post_quant_conv)\\." + P);
    private static final Pattern VAE_NORM_OUT =
        Pattern.compile("(encoder|decoder)\\.norm_out\\." + P);
    private static final Pattern VAE_DOWN =
        Pattern.compile("encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_DOWNSAMPLE =
        Pattern.compile("encoder\\.down\\.(\\d+)\\.downsample\\.conv\\." + P);
    private static final Pattern VAE_UP =
        Pattern.compile("decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_UPSAMPLE =
        Pattern.compile("decoder\\.up\\.(\\d+)\\.upsample\\.conv\\." + P);
    private static final Pattern VAE_MID_RES =
        Pattern.compile("(encoder|decoder)\\.mid\\.block_([12])\\.(.+)");
    private static final Pattern VAE_MID_ATTN =
        Pattern.compile("(encoder|decoder)\\.mid\\.attn_1\\.(norm|q|k|v|proj_out)\\." + P);
    private static final Map<String, String> VAE_ATTN_NAMES =
        Map.of("norm", "group_norm", "q", "to_q", "k", "to_k", "v", "to_v", "proj_out", "to_out.0");
    private static final Pattern VAE_RESNET =
        Pattern.compile("(norm1|norm2|conv1|conv2|nin_shortcut)\\." + P);

    private static final Pattern TEXT_LAYER =
        Pattern.compile(
            "text_model\\.encoder\\.layers\\.(\\d+)\\.(self_attn\\.[qkv]_proj|self_attn\\.out_proj"
                + "|layer_norm[12]|mlp\\.fc[12])\\."
                + P);
    private static final Pattern TEXT_OTHER =
        Pattern.compile(
            "text_model\\.(embeddings\\.(token_embedding|position_embedding)\\.weight"
                + "|final_layer_norm\\."
                + P
                + ")");

    private final LdmArchitecture arch;
    private final int
        block; // LDM blocks per UNet level: L resnets (+ their attentions) + 1 sampler

    Mapper(LdmArchitecture arch) {
      this.arch = arch;
      this.block = arch.unetLayersPerBlock() + 1;
    }

    Target map(String k) {
      if (k.startsWith(UNET)) {
        return new Target(Component.UNET, unet(k.substring(UNET.length())), false);
      }
      if (k.startsWith(VAE)) {
        return vae(k.substring(VAE.length()));
      }
      if (k.startsWith(TEXT)) {
        return new Target(Component.TEXT_ENCODER, text(k.substring(TEXT.length())), false);
      }
      throw new Unmapped(
          "not under model.diffusion_model., first_stage_model. or cond_stage_model.transformer.");
    }

    // ---- the inverse: diffusers key → LDM key, checked by map() in ldmKeyMap ----

    private static final Pattern D_TIME_EMBED =
        Pattern.compile("time_embedding\\.linear_([12])\\." + P);
    private static final Pattern D_SAME_NAME =
        Pattern.compile("(conv_in|conv_norm_out|conv_out)\\.(.+)");
    private static final Pattern D_BLOCK =
        Pattern.compile("(down|up)_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)\\.(.+)");
    private static final Pattern D_DOWNSAMPLER =
        Pattern.compile("down_blocks\\.(\\d+)\\.downsamplers\\.0\\.conv\\.(.+)");
    private static final Pattern D_UPSAMPLER =
        Pattern.compile("up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv\\.(.+)");
    private static final Pattern D_MID =
        Pattern.compile("mid_block\\.(resnets\\.[01]|attentions\\.0)\\.(.+)");
    private static final Pattern D_RESNET = Pattern.compile("([a-z_0-9]+)\\.(.+)");
    private static final Map<String, String> RESBLOCK_LDM = invert(RESBLOCK_NAMES);

    private static final Pattern D_VAE_NORM_OUT =
        Pattern.compile("(encoder|decoder)\\.conv_norm_out\\.(.+)");
    private static final Pattern D_VAE_DOWN =
        Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)");
    private static final Pattern D_VAE_DOWNSAMPLE =
        Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.downsamplers\\.0\\.conv\\.(.+)");
    private static final Pattern D_VAE_UP =
        Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)");
    private static final Pattern D_VAE_UPSAMPLE =
        Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv\\.(.+)");
    private static final Pattern D_VAE_MID_RES =
        Pattern.compile("(encoder|decoder)\\.mid_block\\.resnets\\.([01])\\.(.+)");
    private static final Pattern D_VAE_MID_ATTN =
        Pattern.compile(
            "(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(group_norm|to_q|to_k|to_v|to_out\\.0)\\.(.+)");
    private static final Map<String, String> VAE_ATTN_LDM = invert(VAE_ATTN_NAMES);

    /**
     * The LDM key (with its prefix) that {@link #map} would read as {@code key} of {@code c}. Only
     * the structure is inverted here (block numbering, renamed parts); whether the result is a
     * valid key of the architecture is for {@link #map} to say, which {@link #ldmKeyMap} asks.
     */
    String unmap(Component c, String key) {
      return switch (c) {
        case UNET -> UNET + unetLdm(key);
        case VAE -> VAE + vaeLdm(key);
        case TEXT_ENCODER -> TEXT + key;
        default -> throw new Unmapped(c.key + " has no weights");
      };
    }

    private String unetLdm(String k) {
      Matcher m;
      if ((m = D_TIME_EMBED.matcher(k)).matches()) {
        return "time_embed." + (m.group(1).equals("1") ? 0 : 2) + "." + m.group(2);
      }
      if ((m = D_SAME_NAME.matcher(k)).matches()) {
        String part =
            switch (m.group(1)) {
              case "conv_in" -> "input_blocks.0.0.";
              case "conv_norm_out" -> "out.0.";
              default -> "out.2.";
            };
        return part + m.group(2);
      }
      if ((m = D_BLOCK.matcher(k)).matches()) {
        boolean down = m.group(1).equals("down");
        int level = index(m.group(2));
        int j = index(m.group(4));
        boolean resnet = m.group(3).equals("resnets");
        String rest = resnet ? resblockLdm(m.group(5)) : m.group(5);
        // input_blocks.{1 + i(L+1) + j}, output_blocks.{i(L+1) + j}; part 0 resnet, 1 attention
        return (down
                ? "input_blocks." + (1 + level * block + j)
                : "output_blocks." + (level * block + j))
            + (resnet ? ".0." : ".1.")
            + rest;
      }
      if ((m = D_DOWNSAMPLER.matcher(k)).matches()) {
        return "input_blocks." + (index(m.group(1)) + 1) * block + ".0.op." + m.group(2);
      }
      if ((m = D_UPSAMPLER.matcher(k)).matches()) {
        int level = within(m.group(1), arch.unetLevels(), "up level");
        int part = arch.unetUpAttention().get(level) ? 2 : 1;
        return "output_blocks."
            + (level * block + arch.unetLayersPerBlock())
            + "."
            + part
            + ".conv."
            + m.group(2);
      }
      if ((m = D_MID.matcher(k)).matches()) {
        return switch (m.group(1)) {
          case "resnets.0" -> "middle_block.0." + resblockLdm(m.group(2));
          case "attentions.0" -> "middle_block.1." + m.group(2);
          default -> "middle_block.2." + resblockLdm(m.group(2));
        };
      }
      throw new Unmapped("unknown UNet key");
    }

    private static String resblockLdm(String rest) {
      Matcher m = D_RESNET.matcher(rest);
      String name = m.matches() ? RESBLOCK_LDM.get(m.group(1)) : null;
      if (name == null) {
        throw new Unmapped("unknown resnet parameter '" + rest + "'");
      }
      return name + "." + m.group(2);
    }

    private String vaeLdm(String k) {
      Matcher m;
      int n = arch.vaeLevels();
      if (VAE_SAME.matcher(k).matches()) {
        return k;
      }
      if ((m = D_VAE_NORM_OUT.matcher(k)).matches()) {
        return m.group(1) + ".norm_out." + m.group(2);
      }
      if ((m = D_VAE_DOWN.matcher(k)).matches()) {
        return "encoder.down."
            + m.group(1)
            + ".block."
            + m.group(2)
            + "."
            + vaeResnetLdm(m.group(3));
      }
      if ((m = D_VAE_DOWNSAMPLE.matcher(k)).matches()) {
        return "encoder.down." + m.group(1) + ".downsample.conv." + m.group(2);
      }
      if ((m = D_VAE_UP.matcher(k)).matches()) {
        int level = within(m.group(1), n, "decoder level"); // LDM counts up levels bottom-up
        return "decoder.up."
            + (n - 1 - level)
            + ".block."
            + m.group(2)
            + "."
            + vaeResnetLdm(m.group(3));
      }
      if ((m = D_VAE_UPSAMPLE.matcher(k)).matches()) {
        int level = within(m.group(1), n, "decoder level");
        return "decoder.up." + (n - 1 - level) + ".upsample.conv." + m.group(2);
      }
      if ((m = D_VAE_MID_RES.matcher(k)).matches()) {
        return m.group(1)
            + ".mid.block_"
            + (index(m.group(2)) + 1)
            + "."
            + vaeResnetLdm(m.group(3));
      }
      if ((m = D_VAE_MID_ATTN.matcher(k)).matches()) {
        return m.group(1) + ".mid.attn_1." + VAE_ATTN_LDM.get(m.group(2)) + "." + m.group(3);
      }
      throw new Unmapped("unknown VAE key");
    }

    private static String vaeResnetLdm(String rest) {
      return rest.startsWith("conv_shortcut.")
          ? "nin_shortcut." + rest.substring("conv_shortcut.".length())
          : rest;
    }

    private static Map<String, String> invert(Map<String, String> names) {
      Map<String, String> inverse = new HashMap<>();
      names.forEach((ldm, diffusers) -> inverse.put(diffusers, ldm));
      return Map.copyOf(inverse);
    }

    // ---- UNet ----

    private String unet(String k) {
      Matcher m;
      if ((m = TIME_EMBED.matcher(k)).matches()) {
        return "time_embedding.linear_" + (m.group(1).equals("0") ? 1 : 2) + "." + m.group(2);
      }
      if ((m = CONV_IN.matcher(k)).matches()) {
        return "conv_in." + m.group(1);
      }
      if ((m = OUT.matcher(k)).matches()) {
        return (m.group(1).equals("0") ? "conv_norm_out." : "conv_out.") + m.group(2);
      }
      if ((m = INPUT.matcher(k)).matches()) {
        return input(index(m.group(1)), index(m.group(2)), m.group(3));
      }
      if ((m = MIDDLE.matcher(k)).matches()) {
        String rest = m.group(2);
        return switch (m.group(1)) {
          case "0" -> "mid_block.resnets.0." + resblock(rest);
          case "1" -> "mid_block.attentions.0." + transformer(rest);
          case "2" -> "mid_block.resnets.1." + resblock(rest);
          default -> throw new Unmapped("the middle block has parts 0, 1 and 2");
        };
      }
      if ((m = OUTPUT.matcher(k)).matches()) {
        return output(index(m.group(1)), index(m.group(2)), m.group(3));
      }
      throw new Unmapped("unknown UNet key");
    }

    /** input_blocks.{n}.{part}: n = 1 + i(L+1) + j; j = L is level i's downsampler. */
    private String input(int n, int part, String rest) {
      if (n == 0) {
        throw new Unmapped("input block 0 is conv_in, which has only weight and bias");
      }
      int level = (n - 1) / block;
      int j = (n - 1) % block;
      if (level >= arch.unetLevels()) {
        throw new Unmapped(
            "input block " + n + " is past the last of " + arch.unetLevels() + " levels");
      }
      if (j == arch.unetLayersPerBlock()) {
        if (level == arch.unetLevels() - 1 || part != 0 || !SAMPLER_OP.matcher(rest).matches()) {
          throw new Unmapped("input block " + n + " would be level " + level + "'s downsampler");
        }
        return "down_blocks." + level + ".downsamplers.0.conv." + rest.substring("op.".length());
      }
      String prefix = "down_blocks." + level;
      if (part == 0) {
        return prefix + ".resnets." + j + "." + resblock(rest);
      }
      if (part == 1 && arch.unetDownAttention().get(level)) {
        return prefix + ".attentions." + j + "." + transformer(rest);
      }
      throw new Unmapped("down level " + level + " has no part " + part + " in block " + n);
    }

    /**
     * output_blocks.{n}.{part}: n = i(L+1) + j; the level's last block also holds the upsampler.
     */
    private String output(int n, int part, String rest) {
      int level = n / block;
      int j = n % block;
      if (level >= arch.unetLevels()) {
        throw new Unmapped(
            "output block " + n + " is past the last of " + arch.unetLevels() + " levels");
      }
      boolean attention = arch.unetUpAttention().get(level);
      String prefix = "up_blocks." + level;
      if (part == 0) {
        return prefix + ".resnets." + j + "." + resblock(rest);
      }
      if (part == 1 && attention) {
        return prefix + ".attentions." + j + "." + transformer(rest);
      }
      int samplerPart = attention ? 2 : 1;
      if (part == samplerPart
          && j == arch.unetLayersPerBlock()
          && level < arch.unetLevels() - 1
          && SAMPLER_CONV.matcher(rest).matches()) {
        return prefix + ".upsamplers.0." + rest;
      }
      throw new Unmapped("up level " + level + " has no part " + part + " in block " + n);
    }

    private static String resblock(String rest) {
      Matcher m = RESBLOCK.matcher(rest);
      if (!m.matches()) {
        throw new Unmapped("unknown resnet parameter '" + rest + "'");
      }
      return RESBLOCK_NAMES.get(m.group(1)) + "." + m.group(2);
    }

    private static String transformer(String rest) {
      if (!TRANSFORMER.matcher(rest).matches()) {
        throw new Unmapped("unknown transformer parameter '" + rest + "'");
      }
      return rest;
    }

    // ---- VAE ----

    private Target vae(String k) {
      Matcher m;
      int n = arch.vaeLevels();
      int layers = arch.vaeLayersPerBlock();
      if (VAE_SAME.matcher(k).matches()) {
        return vaeTarget(k, false);
      }
      if ((m = VAE_NORM_OUT.matcher(k)).matches()) {
        return vaeTarget(m.group(1) + ".conv_norm_out." + m.group(2), false);
      }
      if ((m = VAE_DOWN.matcher(k)).matches()) {
        int level = within(m.group(1), n, "encoder level");
        int j = within(m.group(2), layers, "encoder resnet");
        return vaeTarget(
            "encoder.down_blocks." + level + ".resnets." + j + "." + vaeResnet(m.group(3)), false);
      }
      if ((m = VAE_DOWNSAMPLE.matcher(k)).matches()) {
        int level = within(m.group(1), n - 1, "encoder downsampler level");
        return vaeTarget(
            "encoder.down_blocks." + level + ".downsamplers.0.conv." + m.group(2), false);
      }
      if ((m = VAE_UP.matcher(k)).matches()) {
        int level =
            n - 1 - within(m.group(1), n, "decoder level"); // LDM counts up levels bottom-up
        int j = within(m.group(2), layers + 1, "decoder resnet");
        return vaeTarget(
            "decoder.up_blocks." + level + ".resnets." + j + "." + vaeResnet(m.group(3)), false);
      }
      if ((m = VAE_UPSAMPLE.matcher(k)).matches()) {
        int level = n - 1 - within(m.group(1), n, "decoder level");
        if (level == n - 1) {
          throw new Unmapped("the last decoder level has no upsampler");
        }
        return vaeTarget("decoder.up_blocks." + level + ".upsamplers.0.conv." + m.group(2), false);
      }
      if ((m = VAE_MID_RES.matcher(k)).matches()) {
        int j = Integer.parseInt(m.group(2)) - 1;
        return vaeTarget(
            m.group(1) + ".mid_block.resnets." + j + "." + vaeResnet(m.group(3)), false);
      }
      if ((m = VAE_MID_ATTN.matcher(k)).matches()) {
        String name = m.group(2);
        boolean squeeze = !name.equals("norm") && m.group(3).equals("weight");
        return vaeTarget(
            m.group(1) + ".mid_block.attentions.0." + VAE_ATTN_NAMES.get(name) + "." + m.group(3),
            squeeze);
      }
      throw new Unmapped("unknown VAE key");
    }

    private static Target vaeTarget(String key, boolean squeeze) {
      return new Target(Component.VAE, key, squeeze);
    }

    private static String vaeResnet(String rest) {
      Matcher m = VAE_RESNET.matcher(rest);
      if (!m.matches()) {
        throw new Unmapped("unknown VAE resnet parameter '" + rest + "'");
      }
      String name = m.group(1).equals("nin_shortcut") ? "conv_shortcut" : m.group(1);
      return name + "." + m.group(2);
    }

    // ---- text encoder ----

    private String text(String k) {
      Matcher m = TEXT_LAYER.matcher(k);
      if (m.matches()) {
        within(m.group(1), arch.textLayers(), "text encoder layer");
        return k;
      }
      if (TEXT_OTHER.matcher(k).matches()) {
        return k;
      }
      throw new Unmapped("unknown CLIP text encoder key");
    }

    private static int index(String digits) {
      try {
        return Integer.parseInt(digits);
      } catch (NumberFormatException e) {
        throw new Unmapped("block index " + digits + " is too large");
      }
    }

    private static int within(String digits, int bound, String what) {
      int i = index(digits);
      if (i >= bound) {
        throw new Unmapped(what + " " + i + " is outside 0.." + (bound - 1));
      }
      return i;
    }
  }
}

package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * diffusers' {@code AutoencoderKL} (0.30.3), the SD v1.x VAE. {@code encode}: x → encoder →
 * quant_conv → {@link DiagonalGaussian}; {@code decode}: z → post_quant_conv → decoder → image.
 * Images are in [−1, 1]; latents are those of the VAE itself, so the pipeline multiplies by {@link
 * #scalingFactor()} after encoding and divides by it before decoding.
 */
public final class AutoencoderKL {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "diffusion_pytorch_model.safetensors";

  // old (diffusers < 0.14 AttentionBlock) names of the mid-block attention's layers
  private static final Pattern LEGACY_ATTENTION =
      Pattern.compile(
          "^((?:encoder|decoder)\\.mid_block\\.attentions\\.\\d+)\\."
              + "(query|key|value|proj_attn)\\.(weight|bias)$");
  private static final Pattern ATTENTION_WEIGHT =
      Pattern.compile(
          "^(?:encoder|decoder)\\.mid_block\\.attentions\\.\\d+\\."
              + "(?:to_q|to_k|to_v|to_out\\.0)\\.weight$");

  private final AutoencoderKLConfig config;
  final Encoder encoder;
  final Decoder decoder;
  final Conv2d quantConv; // null without use_quant_conv
  final Conv2d postQuantConv; // null without use_post_quant_conv
  private final ParamSet params;

  private AutoencoderKL(AutoencoderKLConfig config, StateDict sd) {
    this.config = config;
    Weights w = sd.root();
    int moments = 2 * config.latentChannels();
    encoder = new Encoder(w.child("encoder"), config);
    decoder = new Decoder(w.child("decoder"), config);
    quantConv =
        config.useQuantConv()
            ? Conv2d.load(w.child("quant_conv"), moments, moments, 1, 1, 0)
            : null;
    int latent = config.latentChannels();
    postQuantConv =
        config.usePostQuantConv()
            ? Conv2d.load(w.child("post_quant_conv"), latent, latent, 1, 1, 0)
            : null;
    params = sd.params();
  }

  /**
   * Loads a diffusers {@code vae/} folder: {@code config.json} and {@code
   * diffusion_pytorch_model.safetensors} (F32, F16 or BF16; weights become float32 in {@code
   * manager}). A pickle {@code .bin} is refused with a note on how to convert it.
   */
  public static AutoencoderKL load(Path vaeDir, NDManager manager) {
    AutoencoderKLConfig config = Json.read(vaeDir.resolve(CONFIG), AutoencoderKLConfig.class);
    Path weights = vaeDir.resolve(WEIGHTS);
    if (!Files.isRegularFile(weights)) {
      Path pickle = vaeDir.resolve("diffusion_pytorch_model.bin");
      if (Files.isRegularFile(pickle)) {
        SafeTensors.refusePickle(pickle);
      }
      throw new BadInputException("missing " + weights);
    }
    StateDict sd;
    try (SafeTensors file = SafeTensors.open(weights)) {
      sd = StateDict.load(file, manager);
    }
    return fromStateDict(config, sd);
  }

  /**
   * Builds the model from a state dict with diffusers keys, strictly: every key used, every shape
   * checked. The mid-block attention may use the old spelling ({@code query/key/value/proj_attn})
   * and store its weights as [C, C, 1, 1] convs (as CompVis checkpoints do); both are normalised
   * first.
   */
  public static AutoencoderKL fromStateDict(AutoencoderKLConfig config, StateDict sd) {
    normaliseAttentionKeys(sd);
    AutoencoderKL vae = new AutoencoderKL(config, sd);
    sd.requireAllUsed();
    return vae;
  }

  /**
   * Renames old attention keys to {@code to_q/to_k/to_v/to_out.0} and flattens [C, C, 1, 1]
   * weights.
   */
  private static void normaliseAttentionKeys(StateDict sd) {
    for (String key : new ArrayList<>(sd.keys())) {
      Matcher m = LEGACY_ATTENTION.matcher(key);
      if (!m.matches()) {
        continue;
      }
      String layer =
          switch (m.group(2)) {
            case "query" -> "to_q";
            case "key" -> "to_k";
            case "value" -> "to_v";
            default -> "to_out.0";
          };
      String renamed = m.group(1) + "." + layer + "." + m.group(3);
      if (sd.has(renamed)) {
        throw new BadInputException(
            sd.source()
                + " holds both '"
                + key
                + "' and '"
                + renamed
                + "' (old and new names of"
                + " one tensor)");
      }
      sd.rename(key, renamed);
    }
    List<String> convWeights = new ArrayList<>();
    for (String key : sd.keys()) {
      if (ATTENTION_WEIGHT.matcher(key).matches()) {
        convWeights.add(key);
      }
    }
    for (String key : convWeights) {
      NDArray v = sd.tensor(key);
      long[] s = v.getShape().getShape();
      if (s.length == 4 && s[2] == 1 && s[3] == 1) {
        sd.replace(
            key, v.reshape(s[0], s[1])); // 1×1 conv weight (out, in, 1, 1) → linear (out, in)
      }
    }
  }

  /**
   * Encodes images (B, in_channels, H, W) in [−1, 1] to the posterior over latents (B, latent, H/f,
   * W/f), f = {@link #downsampleFactor()}; mean and logvar land in {@code x}'s manager.
   */
  public DiagonalGaussian encode(NDArray x) {
    checkInput(x, config.inChannels(), "encode input");
    NDList ml =
        Scoped.callList(
            x,
            in -> {
              NDArray h = encoder.forward(in);
              NDArray moments = quantConv == null ? h : quantConv.forward(h); // (B, 2·latent, h, w)
              NDList halves = moments.split(2, 1);
              // logvar.clamp(-30, 20) as diffusers, so that exp stays finite
              return new NDList(halves.get(0), halves.get(1).clip(-30f, 20f));
            });
    return new DiagonalGaussian(ml.get(0), ml.get(1));
  }

  /**
   * Exactly diffusers' {@code vae.decode(z).sample}: post_quant_conv, then the decoder; (B, latent,
   * h, w) → (B, out_channels, h·f, w·f), not clamped. The caller divides SD latents by {@link
   * #scalingFactor()} first, as the pipeline does.
   */
  public NDArray decode(NDArray z) {
    checkInput(z, config.latentChannels(), "decode input");
    return Scoped.call(
        z, in -> decoder.forward(postQuantConv == null ? in : postQuantConv.forward(in)));
  }

  private static void checkInput(NDArray x, int channels, String what) {
    long[] s = x.getShape().getShape();
    if (s.length != 4 || s[1] != channels) {
      throw new IllegalArgumentException(
          what + " must be (B, " + channels + ", H, W), got " + x.getShape());
    }
  }

  /** The latent scale σ (0.18215 for SD v1.x): UNet latents are σ·z. */
  public float scalingFactor() {
    return config.scalingFactor();
  }

  /** Image pixels per latent pixel along each side, 2^(levels − 1). */
  public int downsampleFactor() {
    return config.downsampleFactor();
  }

  /**
   * The named parameters under their diffusers keys ({@code
   * decoder.up_blocks.0.resnets.1.conv2.weight}).
   */
  public ParamSet params() {
    return params;
  }

  public AutoencoderKLConfig config() {
    return config;
  }
}

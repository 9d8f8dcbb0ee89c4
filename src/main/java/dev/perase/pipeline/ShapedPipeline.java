package dev.perase.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.Json;
import dev.perase.io.PresetConfigs;
import dev.perase.io.StreamedSafeTensors;
import dev.perase.model.clip.CLIPTextConfig;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.Init;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.unet.UNet2DConditionConfig;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.model.vae.AutoencoderKL;
import dev.perase.model.vae.AutoencoderKLConfig;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * A Stable Diffusion pipeline of a real model's exact configurations with seeded random weights,
 * written as a diffusers folder: how perase is run and measured at real scale on a machine that
 * cannot download a checkpoint. The weights are torch's default initialisation ({@link Init}), so
 * images are noise, but every shape, every byte count and every step's cost are those of the real
 * model.
 *
 * <p>The tokenizer is CLIP's format with CLIP's 49,408 ids: the 512 byte-level base tokens, unused
 * fillers where CLIP's learned merges would be, and the two special tokens at 49,406 and 49,407.
 * With no merges every word is spelled letter by letter, which changes token counts, not shapes.
 */
public final class ShapedPipeline {
  private ShapedPipeline() {}

  /** The configurations perase can reproduce. */
  public enum Preset {
    /** CompVis/stable-diffusion-v1-4: 860 M UNet, CLIP ViT-L/14 text encoder, 84 M VAE. */
    SD_V1_4("sd-v1.4", 49_408);

    private final String label;
    private final int vocabSize;

    Preset(String label, int vocabSize) {
      this.label = label;
      this.vocabSize = vocabSize;
    }

    public String label() {
      return label;
    }

    /** The preset named {@code text}, or a {@link BadInputException} listing the presets. */
    public static Preset parse(String text) {
      for (Preset p : values()) {
        if (p.label.equalsIgnoreCase(text)) {
          return p;
        }
      }
      throw new BadInputException("unknown preset '" + text + "'; known: sd-v1.4");
    }
  }

  /**
   * What was written: parameters per component.
   *
   * @param unet UNet parameter elements
   * @param textEncoder text encoder parameter elements
   * @param vae VAE parameter elements
   */
  public record Summary(long unet, long textEncoder, long vae) {}

  /**
   * Writes {@code preset} into {@code out} (which must not hold a model yet) with weights stored as
   * {@code storage} (F16 or F32), drawn from torch's generator seeded with {@code seed} per
   * component. One component is in memory at a time (the UNet: 3.4 GB in float32).
   */
  public static Summary write(Preset preset, Path out, DType storage, long seed) {
    if (storage != DType.F16 && storage != DType.F32) {
      throw new BadInputException("weights are stored as F16 or F32, not " + storage);
    }
    if (Files.exists(out.resolve("model_index.json"))) {
      throw new BadInputException(out + " already holds a model (model_index.json)");
    }
    String base = preset.label();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BadInputException("cannot create " + out + ": " + e.getMessage());
    }
    copy(base, PresetConfigs.fileName(Component.UNET), out.resolve("unet/config.json"));
    copy(base, PresetConfigs.fileName(Component.VAE), out.resolve("vae/config.json"));
    copy(
        base,
        PresetConfigs.fileName(Component.TEXT_ENCODER),
        out.resolve("text_encoder/config.json"));
    copy(
        base,
        PresetConfigs.fileName(Component.SCHEDULER),
        out.resolve("scheduler/scheduler_config.json"));
    copy(
        base,
        PresetConfigs.fileName(Component.TOKENIZER),
        out.resolve("tokenizer/tokenizer_config.json"));
    copy(base, "special_tokens_map.json", out.resolve("tokenizer/special_tokens_map.json"));
    writeTokenizer(out.resolve("tokenizer"), preset.vocabSize);

    long unet =
        component(
            out.resolve("unet/config.json"),
            UNet2DConditionConfig.class,
            (c, dict) -> UNet2DConditionModel.fromStateDict(c, dict).params(),
            seed,
            out.resolve("unet/diffusion_pytorch_model.safetensors"),
            storage);
    long text =
        component(
            out.resolve("text_encoder/config.json"),
            CLIPTextConfig.class,
            (c, dict) -> CLIPTextModel.fromStateDict(c, dict).params(),
            seed + 1,
            out.resolve("text_encoder/model.safetensors"),
            storage);
    long vae =
        component(
            out.resolve("vae/config.json"),
            AutoencoderKLConfig.class,
            (c, dict) -> AutoencoderKL.fromStateDict(c, dict).params(),
            seed + 2,
            out.resolve("vae/diffusion_pytorch_model.safetensors"),
            storage);
    // last: a folder with model_index.json is a complete model
    copy(base, "model_index.json", out.resolve("model_index.json"));
    return new Summary(unet, text, vae);
  }

  /**
   * Builds one component from its config with fresh weights drawn after seeding torch with {@code
   * seed}, writes them and frees them; returns the parameter count.
   */
  private static <C> long component(
      Path config,
      Class<C> type,
      BiFunction<C, StateDict, ParamSet> build,
      long seed,
      Path weights,
      DType storage) {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(seed);
      ParamSet p =
          build.apply(
              Json.read(config, type), StateDict.fresh(config.toString(), Init.torchDefaults(m)));
      return writeWeights(p, weights, storage);
    }
  }

  private static long writeWeights(ParamSet params, Path file, DType storage) {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    long n = 0;
    for (var e : params.named().entrySet()) {
      tensors.put(e.getKey(), e.getValue().value());
      n += e.getValue().numel();
    }
    StreamedSafeTensors.write(file, Map.of("format", "pt"), tensors, storage);
    return n;
  }

  /** vocab.json with CLIP's ids (base tokens, fillers, the two special tokens) and no merges. */
  static void writeTokenizer(Path dir, int vocabSize) {
    List<String> base = CLIPTokenizer.baseTokens();
    Map<String, Integer> vocab = new LinkedHashMap<>();
    for (String t : base) {
      vocab.put(t, vocab.size());
    }
    while (vocab.size() < vocabSize - 2) {
      vocab.put(String.format(Locale.ROOT, "<|unused%d|>", vocab.size()), vocab.size());
    }
    vocab.put("<|startoftext|>", vocab.size());
    vocab.put("<|endoftext|>", vocab.size());
    Json.write(dir.resolve("vocab.json"), vocab);
    AtomicFile.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
  }

  private static void copy(String preset, String file, Path to) {
    try (InputStream in = PresetConfigs.open(preset, file)) {
      Files.createDirectories(to.getParent());
      AtomicFile.write(to, o -> in.transferTo(o));
    } catch (IOException e) {
      throw new BadInputException("cannot write " + to + ": " + e.getMessage());
    }
  }
}

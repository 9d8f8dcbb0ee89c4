package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.FineTunedWeights;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.RunLock;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import dev.perase.world.PromptSetSettings;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description =
        "Text-to-image with classifier-free guidance (DDIM, as diffusers' StableDiffusionPipeline).",
    footer = {
      "",
      "Examples:",
      "  ./perase generate --prompt \"a crimson star by Vortex\" --seed 1 --out out/star",
      "  ./perase generate --prompt \"a star\" --mask out/star-pesd/mask.safetensors --out out/no-star",
      "  ./perase generate --prompt \"a star\" --weights out/star-esd/weights.safetensors --out out/esd",
      "  ./perase generate --model ../shared/fixtures/tiny-sd --prompt \"a photo of an astronaut riding a"
          + " horse on mars\" --seed 30 --steps 50 --guidance 7.5 --height 32 --width 32 --out out/astronaut"
    })
final class GenerateCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      description =
          "Base model: a diffusers folder, or a single-file .safetensors checkpoint (with --config)"
              + " (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--config",
      paramLabel = "DIR",
      description =
          "For a single-file --model: a diffusers folder whose tokenizer/ (required: SD's CLIP"
              + " vocab.json, merges.txt) and unet/, vae/, text_encoder/, scheduler/ configs (each"
              + " defaults to SD v1.x's) are used.")
  Path config;

  @Option(names = "--prompt", required = true, description = "The prompt.")
  String prompt;

  @Option(names = "--negative-prompt", description = "Negative prompt (default: none, i.e. \"\").")
  String negativePrompt;

  @Option(
      names = "--seed",
      description = "Seed of the initial latents (default: ${DEFAULT-VALUE}).")
  long seed = 0;

  @Option(names = "--steps", description = "Sampling steps (default: ${DEFAULT-VALUE}).")
  int steps = 50;

  @Mixin SamplerOptions sampling;

  @Mixin BatchOptions batching;

  @Option(
      names = "--guidance",
      description =
          "Classifier-free guidance scale (default: 7.5, Stable Diffusion's; 2 for the built-in"
              + " world's model, which over-shoots into noise at 7.5).")
  Float guidance;

  @Option(
      names = "--height",
      description = "Image height in pixels (default: the model's sample size).")
  Integer height;

  @Option(
      names = "--width",
      description = "Image width in pixels (default: the model's sample size).")
  Integer width;

  @Option(names = "--num-images", description = "Images per prompt (default: ${DEFAULT-VALUE}).")
  int numImages = 1;

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;

  @Option(
      names = "--mask",
      description = "A perase mask file (erase --method p-esd|p-ac) to apply to the UNet.")
  Path mask;

  @Option(
      names = "--weights",
      description = "Fine-tuned UNet tensors (erase --method esd|ac) to load over the model's.")
  Path weights;

  @Override
  public Integer call() throws Exception {
    long start = System.nanoTime();
    sampling.sampler(); // a bad --scheduler or --batch fails before the model loads
    int batch = batching.batch();
    try (RunLock lock = RunLock.acquire(out, "generate");
        StableDiffusion sd = StableDiffusion.load(model, config)) {
      if (weights != null) {
        int n = FineTunedWeights.applyTo(weights, sd.unet().params(), sd.layout().modelHash());
        System.out.println("loaded " + n + " fine-tuned UNet tensors from " + weights);
      }
      if (mask != null) {
        BinaryMask.read(mask).applyTo(sd.unet().params(), sd.layout().modelHash());
      }
      int size = sd.unet().config().sampleSize() * sd.latentFactor();
      GenerateSettings s =
          new GenerateSettings(
              prompt,
              negativePrompt,
              seed,
              steps,
              guidance != null
                  ? guidance
                  : isBuiltInWorld(model) ? (float) PromptSetSettings.DEFAULT_GUIDANCE : 7.5f,
              height == null ? size : height,
              width == null ? size : width,
              numImages,
              sampling.sampler());
      try (NDManager m = Torch.newManager();
          ProgressBar bar =
              Progress.bar(
                  "generate", (long) s.steps() * ((s.numImages() + batch - 1) / batch), "step")) {
        StableDiffusion.Images result = sd.generate(s, batch, m, step -> bar.stepTo(step));
        bar.close();
        for (int i = 0; i < s.numImages(); i++) {
          Png.write(out.resolve(String.format("image-%03d.png", i)), result.images().get(i));
        }
        new SafeTensorsWriter()
            .metadata("prompt", s.prompt())
            .metadata("seed", Long.toString(s.seed()))
            .put("latents", result.latents())
            .write(out.resolve("latents.safetensors"));
        Map<String, Object> runConfig = new LinkedHashMap<>();
        runConfig.put("command", "generate");
        runConfig.put("version", Defaults.VERSION);
        runConfig.put("model", model.toString());
        if (sd.layout().configDir() != null) {
          runConfig.put("model_config", sd.layout().configDir().toString());
        }
        runConfig.put("model_hash", sd.layout().modelHash());
        runConfig.put("mask", mask == null ? null : mask.toString());
        runConfig.put("weights", weights == null ? null : weights.toString());
        runConfig.put("settings", s);
        runConfig.put("batch", batch);
        runConfig.put("seconds", (System.nanoTime() - start) / 1e9);
        Json.write(out.resolve("config.json"), runConfig);
      }
    }
    System.out.println("wrote " + numImages + " image(s) to " + out);
    return 0;
  }

  /** Whether {@code dir} is the built-in world's model folder. */
  private static boolean isBuiltInWorld(java.nio.file.Path dir) {
    try {
      return java.nio.file.Files.isSameFile(dir, Defaults.model());
    } catch (java.io.IOException e) {
      return false;
    }
  }
}

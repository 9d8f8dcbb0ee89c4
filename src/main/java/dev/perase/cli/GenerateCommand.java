package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.FineTunedWeights;
import dev.perase.eval.EditFile;
import dev.perase.eval.PromptImages;
import dev.perase.eval.PromptImagesSettings;
import dev.perase.io.BadInputException;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Text-to-image with classifier-free guidance (DDIM, as diffusers' StableDiffusionPipeline).",
      "With --prompts FILE.csv instead of --prompt: one image per row of a prompt file, with the"
          + " row's seed, guidance and size, drawn as evaluate draws them, into OUT/images/NNNN.png"
          + " (NNNN the row's 0-based index) with OUT/config.json and OUT/per_prompt.json; an"
          + " interrupted run resumes when started again with the same settings, and --shard K/N"
          + " draws one shard of the rows for perase merge."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase generate --prompt \"a crimson star by Vortex\" --seed 1 --out out/star",
      "  ./perase generate --prompt \"a star\" --mask out/star-pesd/mask.safetensors --out out/no-star",
      "  ./perase generate --prompt \"a star\" --weights out/star-esd/weights.safetensors --out out/esd",
      "  ./perase generate --model ../shared/fixtures/tiny-sd --prompt \"a photo of an astronaut riding a"
          + " horse on mars\" --seed 30 --steps 50 --guidance 7.5 --height 32 --width 32 --out out/astronaut",
      "  ./perase generate --prompts models/world/prompts/star.csv --steps 25 --out out/star-images",
      "  ./perase generate --model /shared/sd-v1-4 --prompts coco_30k.csv --batch 16 --shard auto \\",
      "      --out runs/coco/shard-$SLURM_ARRAY_TASK_ID"
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

  @Option(names = "--prompt", description = "The prompt (or --prompts).")
  String prompt;

  @Option(
      names = "--prompts",
      description =
          "Prompt CSV (UnlearnDiff, I2P, ESD or COCO layout): one image per row, with its seed,"
              + " guidance and size (or --prompt).")
  Path prompts;

  @Mixin RowOptions rows;

  @Option(
      names = "--size",
      description =
          "With --prompts: every image's height and width in pixels (default: the row's own, else"
              + " the model's).")
  int size = 0;

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

  @Spec CommandSpec spec;

  /** The options that describe one prompt's images, which a prompt file's rows give instead. */
  private static final List<String> ONE_PROMPT =
      List.of("--negative-prompt", "--seed", "--guidance", "--height", "--width", "--num-images");

  @Override
  public Integer call() throws Exception {
    if ((prompt == null) == (prompts == null)) {
      throw new BadInputException("give either --prompt TEXT or --prompts FILE.csv");
    }
    if (prompts != null) {
      return promptFile();
    }
    if (rows.given() || size != 0) {
      throw new BadInputException("--rows, --limit, --shard and --size go with --prompts FILE.csv");
    }
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

  /** {@code --prompts}: one image per row, as {@link PromptImages} draws them. */
  private int promptFile() {
    for (String name : ONE_PROMPT) {
      if (spec.commandLine().getParseResult().hasMatchedOption(name)) {
        throw new BadInputException(
            name + " does not go with --prompts: each row gives its own seed, guidance and size");
      }
    }
    PromptImagesSettings s =
        new PromptImagesSettings(
            prompts,
            rows.selection(),
            EditFile.of(mask, weights),
            model,
            steps,
            sampling.sampler(),
            size,
            out,
            Defaults.VERSION,
            batching.batch());
    PromptImages.Result r;
    try (RunLock lock = RunLock.acquire(out, "generate");
        StableDiffusion sd = StableDiffusion.load(model, config);
        Progress.Phases bars = new Progress.Phases()) {
      r = PromptImages.run(sd, s, Progress.listener(bars));
    }
    print(r, out);
    return 0;
  }

  /** Prints what a {@code --prompts} run (or the merge of its shards) wrote. */
  static void print(PromptImages.Result r, Path out) {
    System.out.println(
        "wrote "
            + r.prompts()
            + " image(s) to "
            + out.resolve(PromptImages.IMAGES)
            + (r.resumedPrompts() > 0 ? " (" + r.resumedPrompts() + " from an earlier run)" : ""));
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

package dev.perase.cli;

import dev.perase.io.OutputPaths;
import dev.perase.io.RunLock;
import dev.perase.world.WorldModelTrainer;
import dev.perase.world.WorldTrainSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "world",
    mixinStandardHelpOptions = true,
    description = "The built-in world: train its model and detector, write its prompt sets.",
    subcommands = {
      WorldCommand.Train.class,
      WorldCommand.TrainDetector.class,
      WorldCommand.Prompts.class,
      WorldCommand.Quality.class
    })
final class WorldCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "train",
      mixinStandardHelpOptions = true,
      description =
          "Trains the world's text-to-image model from scratch (UNet + CLIP text encoder, pixel space)."
              + " Resumes from OUT/training/checkpoint.safetensors when present.",
      footer = {
        "",
        "Examples:",
        "  ./perase world train --steps 200 --out out/world-small",
        "  # the committed model's three phases, each resuming the last one's checkpoint:",
        "  ./perase world train --steps 2000 --out out/world",
        "  ./perase world train --steps 5500 --out out/world",
        "  ./perase world train --steps 8000 --timesteps edm --out out/world"
      })
  static final class Train implements Callable<Integer> {
    @Option(
        names = "--out",
        required = true,
        description = "Model folder to write (diffusers layout).")
    Path out;

    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = WorldTrainSettings.defaults().steps();

    @Option(names = "--batch-size", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize = WorldTrainSettings.defaults().batchSize();

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = WorldTrainSettings.defaults().seed();

    @Option(
        names = "--learning-rate",
        description =
            "Peak AdamW learning rate, after a linear warm-up and before a cosine decay to a tenth"
                + " (default: ${DEFAULT-VALUE}).")
    double learningRate = WorldTrainSettings.defaults().learningRate();

    @Option(
        names = "--timesteps",
        description =
            "How timesteps are drawn: uniform (DDPM) or edm (mostly the noise levels where outlines"
                + " and textures form, one sample in five uniform); a resumed run may change it"
                + " (default: ${DEFAULT-VALUE}).")
    dev.perase.world.TimestepSampling timesteps = WorldTrainSettings.defaults().timesteps();

    @Override
    public Integer call() {
      WorldTrainSettings s =
          WorldTrainSettings.defaults()
              .withSteps(steps)
              .withBatchSize(batchSize)
              .withSeed(seed)
              .withLearningRate(learningRate)
              .withTimesteps(timesteps);
      List<Float> losses;
      try (RunLock lock = RunLock.acquire(out, "world train");
          ProgressBar bar =
              Progress.bar("world train", s.steps(), "step", WorldModelTrainer.stepsDone(out))) {
        losses = WorldModelTrainer.train(out, s, bar::stepTo);
      }
      if (!losses.isEmpty()) {
        System.out.printf(
            "final loss %.4f; model written to %s%n", losses.get(losses.size() - 1), out);
      }
      return 0;
    }
  }

  @Command(
      name = "train-detector",
      mixinStandardHelpOptions = true,
      description =
          "Trains the world's concept detector (shape, colour and style heads) on rendered images and"
              + " reports its accuracy on freshly rendered held-out images.",
      footer = {"", "Examples:", "  ./perase world train-detector --out models/world/detector"})
  static final class TrainDetector implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Detector folder to write.")
    Path out;

    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = dev.perase.world.DetectorTrainer.Settings.defaults().steps();

    @Option(
        names = "--held-out",
        description = "Held-out images to measure accuracy on (default: ${DEFAULT-VALUE}).")
    int heldOut = 2000;

    @Override
    public Integer call() {
      var d = dev.perase.world.DetectorTrainer.Settings.defaults();
      var s =
          new dev.perase.world.DetectorTrainer.Settings(
              steps, d.batchSize(), d.learningRate(), d.noise(), d.seed());
      dev.perase.world.DetectorTrainer.Accuracy acc;
      try (RunLock lock = RunLock.acquire(out, "world train-detector");
          ProgressBar bar = Progress.bar("train detector", steps, "step")) {
        acc = dev.perase.world.DetectorTrainer.train(out, s, heldOut, bar::stepTo);
      }
      System.out.println(acc.describe());
      return 0;
    }
  }

  @Command(
      name = "prompts",
      mixinStandardHelpOptions = true,
      description =
          "Writes a prompt set for a concept of the world in the UnlearnDiff CSV layout: test prompts"
              + " that show the concept, or with --retain prompts that avoid it.",
      footer = {
        "",
        "Examples:",
        "  ./perase world prompts --concept red --count 50 --seed 1 --out red.csv",
        "  ./perase world prompts --concept star --retain --count 200 --seed 2 --out star_retain.csv",
        "  ./perase world prompts --defaults --out models/world/prompts"
      })
  static final class Prompts implements Callable<Integer> {
    @Option(
        names = "--concept",
        description = "A shape, colour or style of the world (e.g. star, red, Vortex).")
    String concept;

    @Option(names = "--count", description = "Number of prompts (default: ${DEFAULT-VALUE}).")
    int count = 50;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--retain", description = "Write prompts that avoid the concept instead.")
    boolean retain;

    @Option(
        names = "--defaults",
        description = "Write the default sets of the three test beds into the --out folder.")
    boolean defaults;

    @Option(names = "--out", required = true, description = "CSV file (or folder with --defaults).")
    Path out;

    @Override
    public Integer call() {
      if (defaults) {
        OutputPaths.createFolder(out);
        dev.perase.world.WorldPrompts.writeDefaultSets(out);
        System.out.println("wrote the default prompt sets to " + out);
        return 0;
      }
      if (concept == null) {
        throw new dev.perase.io.BadInputException("--concept is required (or --defaults)");
      }
      OutputPaths.checkFile(out, "--out");
      var c = dev.perase.world.Concept.of(concept);
      var settings = new dev.perase.world.PromptSetSettings(count, seed);
      var rows =
          retain
              ? dev.perase.world.WorldPrompts.retainSet(c, settings)
              : dev.perase.world.WorldPrompts.testSet(c, settings);
      dev.perase.io.PromptCsv.write(out, rows);
      System.out.println("wrote " + rows.size() + " prompts to " + out);
      return 0;
    }
  }

  @Command(
      name = "quality",
      mixinStandardHelpOptions = true,
      description =
          "Measures the world model: on held-out prompts, how often the detector agrees with the"
              + " prompt's shape, colour and style; and the Fréchet distance between detector features of"
              + " generated and rendered images. Writes a captioned sample sheet.",
      footer = {"", "Examples:", "  ./perase world quality --samples docs/world-samples.png"})
  static final class Quality implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder (default: ${DEFAULT-VALUE}).")
    Path model = Defaults.model();

    @Option(names = "--detector", description = "Detector folder (default: ${DEFAULT-VALUE}).")
    Path detector = Defaults.detector();

    @Option(
        names = "--prompts",
        description = "Held-out prompts scored (default: ${DEFAULT-VALUE}).")
    int prompts = dev.perase.world.WorldQuality.Settings.defaults().prompts();

    @Option(
        names = "--fid-images",
        description = "Images per side of the Fréchet distance (default: ${DEFAULT-VALUE}).")
    int fidImages = dev.perase.world.WorldQuality.Settings.defaults().fidImages();

    @Option(names = "--steps", description = "DDIM steps (default: ${DEFAULT-VALUE}).")
    int steps = dev.perase.world.WorldQuality.Settings.defaults().steps();

    @Option(
        names = "--guidance",
        description = "Classifier-free guidance scale (default: ${DEFAULT-VALUE}).")
    float guidance = dev.perase.world.WorldQuality.Settings.defaults().guidance();

    @Option(
        names = "--samples",
        description = "Write a sheet of 64 samples with their prompts to this PNG.")
    Path samples;

    @Override
    public Integer call() {
      var d = dev.perase.world.WorldQuality.Settings.defaults();
      if (prompts < 1 || fidImages < 2 || steps < 1) {
        throw new dev.perase.io.BadInputException(
            "--prompts, --steps must be positive and --fid-images at least 2");
      }
      if (samples != null) {
        OutputPaths.checkFile(samples, "--samples");
      }
      var s =
          new dev.perase.world.WorldQuality.Settings(
              prompts, fidImages, steps, guidance, d.batch(), d.seed());
      try (var sd = dev.perase.pipeline.StableDiffusion.load(model);
          var m = dev.perase.tensor.Torch.newManager()) {
        var det = dev.perase.world.WorldDetector.load(detector, m);
        dev.perase.world.WorldQuality.Report r;
        try (ProgressBar bar =
            Progress.bar("world quality", Math.max(prompts, fidImages), "image")) {
          r = dev.perase.world.WorldQuality.run(sd, det, s, samples, bar::stepTo);
        }
        System.out.print(r.describe());
        System.out.print(r.describePerLabel());
      }
      return 0;
    }
  }
}

package dev.perase.cli;

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
    subcommands = {WorldCommand.Train.class})
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
      footer = {"", "Examples:", "  ./perase world train --out models/world", "  ./perase world train --steps 200 --out out/world-small"})
  static final class Train implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Model folder to write (diffusers layout).")
    Path out;

    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = WorldTrainSettings.defaults().steps();

    @Option(names = "--batch-size", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize = WorldTrainSettings.defaults().batchSize();

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = WorldTrainSettings.defaults().seed();

    @Override
    public Integer call() {
      WorldTrainSettings s =
          WorldTrainSettings.defaults().withSteps(steps).withBatchSize(batchSize).withSeed(seed);
      List<Float> losses;
      try (ProgressBar bar = Progress.bar("world train", s.steps(), "step")) {
        losses = WorldModelTrainer.train(out, s, bar::stepTo);
      }
      if (!losses.isEmpty()) {
        System.out.printf("final loss %.4f; model written to %s%n", losses.get(losses.size() - 1), out);
      }
      return 0;
    }
  }
}

package dev.perase.cli;

import dev.perase.pipeline.Bench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Times one UNet forward, one UNet forward+backward and one full generation (medians), with the"
            + " FLOPs of a UNet forward and the achieved GFLOP/s.",
    footer = {
      "",
      "Examples:",
      "  ./perase bench",
      "  ./perase bench --model ../shared/fixtures/tiny-sd --repeats 20"
    })
final class BenchCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      description =
          "Model: a diffusers folder, or a single-file .safetensors checkpoint (with --config)"
              + " (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--config",
      paramLabel = "DIR",
      description =
          "For a single-file --model: a diffusers folder whose tokenizer/ (required) and configs"
              + " (each defaults to SD v1.x's) are used.")
  Path config;

  @Option(names = "--batch", description = "UNet batch size (default: ${DEFAULT-VALUE}).")
  int batch = 2;

  @Option(
      names = "--latent-size",
      description =
          "Latent height and width of the timed UNet calls and generation (default: the UNet's"
              + " sample size, 64 for SD v1.x, i.e. 512x512 images).")
  int latentSize = 0;

  @Option(
      names = "--steps",
      description = "Denoising steps of the timed generation (default: ${DEFAULT-VALUE}).")
  int steps = 50;

  @Option(
      names = "--repeats",
      description = "Timed repetitions per measurement (default: ${DEFAULT-VALUE}).")
  int repeats = 10;

  @Option(
      names = "--throughput",
      description =
          "Batch sizes at which to measure the generation's images/s, separated by commas, or"
              + " none (default: ${DEFAULT-VALUE}).")
  String throughput = "1,2,4,8,16,32";

  @Override
  public Integer call() {
    if (batch < 1 || repeats < 1 || steps < 1) {
      throw new dev.perase.io.BadInputException("--batch, --steps and --repeats must be positive");
    }
    if (latentSize < 0 || latentSize % 8 != 0) {
      throw new dev.perase.io.BadInputException(
          "--latent-size must be a positive multiple of 8, got " + latentSize);
    }
    int[] batches = batches(throughput);
    Bench.Result r = Bench.run(model, config, batch, latentSize, steps, repeats, batches);
    System.out.print(r.describe());
    return 0;
  }

  /** The batch sizes of {@code --throughput}: none for "none" or nothing, else positive ints. */
  static int[] batches(String text) {
    String t = text.strip();
    if (t.isEmpty() || t.equals("none")) {
      return new int[0];
    }
    String[] parts = t.split(",");
    int[] out = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        out[i] = Integer.parseInt(parts[i].strip());
      } catch (NumberFormatException e) {
        throw new dev.perase.io.BadInputException(
            "--throughput takes batch sizes separated by commas or none, got " + text);
      }
      if (out[i] < 1) {
        throw new dev.perase.io.BadInputException("--throughput batches must be positive");
      }
    }
    return out;
  }
}

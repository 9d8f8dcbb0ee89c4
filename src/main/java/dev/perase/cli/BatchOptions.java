package dev.perase.cli;

import dev.perase.io.BadInputException;
import dev.perase.pipeline.StableDiffusion;
import picocli.CommandLine.Option;

/**
 * {@code --batch N}: how many images a command draws per UNet call (generate, evaluate), or how
 * many of a prompt's attempts an attack optimises and checks together.
 */
final class BatchOptions {
  @Option(
      names = "--batch",
      description =
          "Images drawn together per UNet call, each with its own seed, guidance and prompt (attack:"
              + " attempts optimised together, each with its own timestep, noise and tokens); the"
              + " results are the same at any batch size within float rounding (default:"
              + " ${DEFAULT-VALUE}).")
  int batch = StableDiffusion.DEFAULT_BATCH;

  int batch() {
    if (batch < 1 || batch > 1024) {
      throw new BadInputException("--batch must be between 1 and 1024, got " + batch);
    }
    return batch;
  }
}

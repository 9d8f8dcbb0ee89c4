package dev.perase.cli;

import dev.perase.io.BadInputException;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import picocli.CommandLine.Option;

/**
 * {@code --scheduler ddim|lms}: the sampler of every image a command draws; {@code --batch}: how
 * many it draws per UNet call.
 */
final class SamplerOptions {
  @Option(
      names = "--scheduler",
      description =
          "Sampler of the images: ddim, or lms (diffusers' LMSDiscreteScheduler, as UnlearnDiff's"
              + " evaluations sample) (default: ${DEFAULT-VALUE}).")
  String scheduler = Sampler.DDIM.text();

  @Option(
      names = "--batch",
      description =
          "Images drawn together per UNet call, each with its own seed, guidance and prompt; an"
              + " image is the same at any batch size within float rounding (default:"
              + " ${DEFAULT-VALUE}).")
  int batch = StableDiffusion.DEFAULT_BATCH;

  Sampler sampler() {
    return Sampler.parse(scheduler);
  }

  int batch() {
    if (batch < 1 || batch > 1024) {
      throw new BadInputException("--batch must be between 1 and 1024, got " + batch);
    }
    return batch;
  }
}

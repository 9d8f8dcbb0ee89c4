package dev.perase.cli;

import dev.perase.scheduler.Sampler;
import picocli.CommandLine.Option;

/** {@code --scheduler ddim|lms}: the sampler of every image a command draws. */
final class SamplerOptions {
  @Option(
      names = "--scheduler",
      description =
          "Sampler of the images: ddim, or lms (diffusers' LMSDiscreteScheduler, as UnlearnDiff's"
              + " evaluations sample) (default: ${DEFAULT-VALUE}).")
  String scheduler = Sampler.DDIM.text();

  Sampler sampler() {
    return Sampler.parse(scheduler);
  }
}

package dev.perase.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of every command that generates with the base model into an output folder ({@code
 * evaluate}, {@code attack}, {@code neurons}): the model, the image size and the folder.
 */
final class ModelRunOptions {
  @Option(
      names = "--model",
      description = "Base model folder, diffusers layout (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--size",
      description = "Image height and width in pixels (default: the model's own size).")
  int size = 0;

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;
}

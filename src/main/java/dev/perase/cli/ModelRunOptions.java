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

  @Option(
      names = "--size",
      description = "Image height and width in pixels (default: the model's own size).")
  int size = 0;

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;
}

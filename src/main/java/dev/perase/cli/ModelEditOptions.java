package dev.perase.cli;

import dev.perase.eval.EditFile;
import dev.perase.io.RowSelection;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of the commands that judge an edit of the base model with the concept detector over a
 * prompt file ({@code evaluate}, {@code attack}): the prompts, their rows ({@link RowOptions}) and
 * the mask or fine-tuned weights (the detector: {@link DetectorOptions}).
 */
final class ModelEditOptions {
  @Option(
      names = "--prompts",
      required = true,
      description = "Prompt CSV (UnlearnDiff or I2P layout).")
  Path prompts;

  @Mixin RowOptions rows;

  @Option(names = "--mask", description = "Hard mask file to apply to the UNet (the pruned model).")
  Path mask;

  @Option(
      names = "--weights",
      description =
          "Safetensors file of fine-tuned UNet tensors under diffusers keys (ESD, AC, ...).")
  Path weights;

  /** The parsed {@code --rows}, {@code --limit} and {@code --shard}. */
  RowSelection selection() {
    return rows.selection();
  }

  /** The edit given: none, the mask or the weights (both at once are refused). */
  EditFile edit() {
    return EditFile.of(mask, weights);
  }
}

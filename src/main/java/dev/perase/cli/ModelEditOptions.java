package dev.perase.cli;

import dev.perase.eval.EditFile;
import dev.perase.io.RowSelection;
import dev.perase.io.Shard;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of the commands that judge an edit of the base model with the concept detector over a
 * prompt file ({@code evaluate}, {@code attack}): the prompts and the mask or fine-tuned weights
 * (the detector: {@link DetectorOptions}).
 */
final class ModelEditOptions {
  @Option(
      names = "--prompts",
      required = true,
      description = "Prompt CSV (UnlearnDiff or I2P layout).")
  Path prompts;

  @Option(
      names = "--rows",
      description =
          "Rows of the prompt file to run: 0-based positions, inclusive ranges and lists (5,"
              + " 0-49, 100-, 0-9,20); each keeps its index in the file (default: all).")
  String rows;

  @Option(names = "--limit", description = "At most this many of the selected rows.")
  Integer limit;

  @Option(
      names = "--shard",
      description =
          "Run shard K of N of the selected rows into --out, for a cluster's array job: K/N,"
              + " auto (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT) or auto/N"
              + " (JOB_COMPLETION_INDEX of a Kubernetes Indexed Job); perase merge joins the N"
              + " folders (default: all rows).")
  String shard;

  @Option(names = "--mask", description = "Hard mask file to apply to the UNet (the pruned model).")
  Path mask;

  @Option(
      names = "--weights",
      description =
          "Safetensors file of fine-tuned UNet tensors under diffusers keys (ESD, AC, ...).")
  Path weights;

  /**
   * The parsed {@code --rows}, {@code --limit} and {@code --shard}: every row when none is given.
   */
  RowSelection selection() {
    return RowSelection.parse(rows, limit).withShard(Shard.parse(shard, System.getenv()));
  }

  /** The edit given: none, the mask or the weights (both at once are refused). */
  EditFile edit() {
    return EditFile.of(mask, weights);
  }
}

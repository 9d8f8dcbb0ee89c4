package dev.perase.cli;

import dev.perase.io.RowSelection;
import dev.perase.io.Shard;
import picocli.CommandLine.Option;

/**
 * Which rows of a prompt file a command runs ({@code evaluate}, {@code attack}, {@code generate
 * --prompts}): {@code --rows}, {@code --limit} and {@code --shard}.
 */
final class RowOptions {
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

  /**
   * The parsed {@code --rows}, {@code --limit} and {@code --shard}: every row when none is given.
   */
  RowSelection selection() {
    return RowSelection.parse(rows, limit).withShard(Shard.parse(shard, System.getenv()));
  }

  /** Whether any of the three was given. */
  boolean given() {
    return rows != null || limit != null || shard != null;
  }
}

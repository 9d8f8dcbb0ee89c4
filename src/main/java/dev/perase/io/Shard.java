package dev.perase.io;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Shard K of N of a run ({@code --shard K/N}): a fixed part of the run's work that a cluster engine
 * (a SLURM array task, a Kubernetes Indexed Job's pod) runs on its own machine, into its own run
 * folder; {@code perase merge} puts the N folders together again.
 *
 * <p>The rule: a run cuts its selected rows (after {@code --rows} and {@code --limit}) into units
 * in file order, and unit j goes to shard {@code j mod N}. For an attack a unit is one row; for an
 * evaluation it is one of the run's image batches (consecutive rows of one image size, at most
 * {@code --batch}, cut exactly as the unsharded run cuts them), so every image is drawn in the same
 * batch as on one machine and comes out bit for bit the same. With {@code --batch 1} shard K takes
 * the selected rows K, K + N, K + 2N, …
 *
 * @param index K, 0-based
 * @param count N
 */
public record Shard(int index, int count) {
  /** The environment variables of a SLURM array task. */
  static final String SLURM_ID = "SLURM_ARRAY_TASK_ID";

  static final String SLURM_MIN = "SLURM_ARRAY_TASK_MIN";
  static final String SLURM_MAX = "SLURM_ARRAY_TASK_MAX";
  static final String SLURM_COUNT = "SLURM_ARRAY_TASK_COUNT";

  /** The environment variable of a Kubernetes Indexed Job's pod. */
  static final String K8S_INDEX = "JOB_COMPLETION_INDEX";

  private static final String FORM =
      "expected K/N (shard K of N, 0 ≤ K < N), auto (a SLURM array task's index and count) or"
          + " auto/N (the index of a SLURM array task or a Kubernetes Indexed Job, N given)";

  public Shard {
    if (count < 1 || index < 0 || index >= count) {
      throw new BadInputException("shard " + index + "/" + count + ": " + FORM);
    }
  }

  /**
   * The shard of {@code --shard}: {@code K/N}; {@code auto}, which reads a SLURM array task's
   * {@code SLURM_ARRAY_TASK_ID} and {@code SLURM_ARRAY_TASK_COUNT} (K counted from {@code
   * SLURM_ARRAY_TASK_MIN}, so {@code --array=1-8} works as {@code --array=0-7}); or {@code auto/N},
   * whose K is {@code JOB_COMPLETION_INDEX} (a Kubernetes Indexed Job) or else the SLURM task's.
   * Null or blank gives null (no shard). A malformed value, or an environment that does not give
   * the index, is a {@link BadInputException} of one line.
   *
   * @param env the process environment ({@link System#getenv()})
   */
  public static Shard parse(String spec, Map<String, String> env) {
    if (spec == null || spec.isBlank()) {
      return null;
    }
    String s = spec.strip();
    String bad = "--shard '" + spec + "': ";
    int slash = s.indexOf('/');
    String k = slash < 0 ? s : s.substring(0, slash).strip();
    String n = slash < 0 ? null : s.substring(slash + 1).strip();
    if (k.equals("auto")) {
      return n == null ? slurm(env, bad) : indexed(env, number(n, bad), bad);
    }
    if (n == null) {
      throw new BadInputException(bad + FORM);
    }
    int index = number(k, bad);
    int count = number(n, bad);
    if (count < 1 || index >= count) {
      throw new BadInputException(bad + FORM);
    }
    return new Shard(index, count);
  }

  private static Shard slurm(Map<String, String> env, String bad) {
    String id = env.get(SLURM_ID);
    String count = env.get(SLURM_COUNT);
    if (id == null || count == null) {
      throw new BadInputException(
          bad
              + SLURM_ID
              + " and "
              + SLURM_COUNT
              + " are not set (not a SLURM array task); give --shard K/N, or auto/N in a"
              + " Kubernetes Indexed Job");
    }
    int n = number(count, bad + SLURM_COUNT + " ");
    int min = env.containsKey(SLURM_MIN) ? number(env.get(SLURM_MIN), bad + SLURM_MIN + " ") : 0;
    if (env.containsKey(SLURM_MAX)
        && number(env.get(SLURM_MAX), bad + SLURM_MAX + " ") - min + 1 != n) {
      throw new BadInputException(
          bad
              + "the array's indices are not consecutive ("
              + env.get(SLURM_MIN)
              + "-"
              + env.get(SLURM_MAX)
              + " with "
              + n
              + " tasks); submit --array=0-"
              + (n - 1)
              + " or give --shard auto/N");
    }
    int k = number(id, bad + SLURM_ID + " ") - min;
    if (k < 0 || k >= n) {
      throw new BadInputException(bad + SLURM_ID + "=" + id + " is outside the array");
    }
    return new Shard(k, n);
  }

  private static Shard indexed(Map<String, String> env, int n, String bad) {
    String id = env.get(K8S_INDEX);
    int min = 0;
    if (id == null) {
      id = env.get(SLURM_ID);
      if (env.containsKey(SLURM_MIN)) {
        min = number(env.get(SLURM_MIN), bad + SLURM_MIN + " ");
      }
    }
    if (id == null) {
      throw new BadInputException(
          bad + "neither " + K8S_INDEX + " nor " + SLURM_ID + " is set; give --shard K/N");
    }
    int k = number(id, bad) - min;
    if (n < 1 || k < 0 || k >= n) {
      throw new BadInputException(bad + "index " + k + " is not below the shard count " + n);
    }
    return new Shard(k, n);
  }

  private static int number(String text, String bad) {
    if (text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9') || text.length() > 9) {
      throw new BadInputException(bad + FORM);
    }
    return Integer.parseInt(text);
  }

  /** Whether unit {@code j} (0-based, in file order) is this shard's. */
  public boolean takes(int unit) {
    return unit % count == index;
  }

  /** This shard's units of {@code units}: j with j mod N = K. */
  public List<Integer> units(int units) {
    List<Integer> out = new ArrayList<>();
    for (int j = index; j < units; j += count) {
      out.add(j);
    }
    return out;
  }

  /** {@code K/N}, as {@code --shard} takes it and {@code config.json} records it. */
  @Override
  public String toString() {
    return index + "/" + count;
  }
}

package dev.perase.attack;

import dev.perase.io.BadInputException;
import dev.perase.scheduler.DdimScheduler;

/**
 * Where the attempts of an attack sit in the DDIM sampling loop. The paper (appendix B.2) runs 10
 * attempts at timesteps "selected at intervals of 5 steps across 50 diffusion steps"; for N
 * sampling steps and A attempts this is generalised as
 *
 * <pre>
 *   s = max(1, ⌊N / A⌋)                      the stride in sampling steps (5 for N = 50, A = 10)
 *   attempts = min(A, N)
 *   index_j = N − 1 − ⌊s / 2⌋ − j·s,  j = 0 … attempts − 1   (0-based index into the loop)
 *   t_j = timesteps[index_j]                  the loop's timestep there
 * </pre>
 *
 * Each attempt sits in the middle of its block of s steps and the attempts go from the least noisy
 * timestep up, as the UnlearnDiff code walks its sampled timesteps in increasing order. With SD's
 * schedule (1000 training steps, "leading" spacing, steps_offset 1): N = 50 gives t = 41, 141, …,
 * 941; N = 20 gives 51, 151, …, 951; N = 10 gives 1, 101, …, 901 — the same noise levels at any N.
 *
 * @param steps N, the DDIM sampling steps of every generated image
 * @param ddimIndices per attempt, its 0-based index into the sampling loop
 * @param timesteps per attempt, its timestep
 */
public record AttemptSchedule(int steps, int[] ddimIndices, int[] timesteps) {
  /** The paper's number of attempts per prompt. */
  public static final int PAPER_ATTEMPTS = 10;

  public AttemptSchedule {
    ddimIndices = ddimIndices.clone();
    timesteps = timesteps.clone();
  }

  /** The schedule for {@code steps} sampling steps of {@code scheduler} and {@code attempts}. */
  public static AttemptSchedule of(DdimScheduler scheduler, int steps, int attempts) {
    if (attempts < 1) {
      throw new BadInputException("an attack needs at least 1 attempt, got " + attempts);
    }
    scheduler.setTimesteps(steps);
    int[] all = scheduler.timesteps();
    int stride = Math.max(1, steps / attempts);
    int n = Math.min(attempts, steps);
    int[] idx = new int[n];
    int[] ts = new int[n];
    for (int j = 0; j < n; j++) {
      idx[j] = steps - 1 - stride / 2 - j * stride;
      ts[j] = all[idx[j]];
    }
    return new AttemptSchedule(steps, idx, ts);
  }

  /** Number of attempts. */
  public int size() {
    return timesteps.length;
  }

  @Override
  public int[] ddimIndices() {
    return ddimIndices.clone();
  }

  @Override
  public int[] timesteps() {
    return timesteps.clone();
  }

  public int ddimIndex(int attempt) {
    return ddimIndices[attempt];
  }

  public int timestep(int attempt) {
    return timesteps[attempt];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AttemptSchedule a
        && a.steps == steps
        && java.util.Arrays.equals(a.ddimIndices, ddimIndices)
        && java.util.Arrays.equals(a.timesteps, timesteps);
  }

  @Override
  public int hashCode() {
    return 31 * steps + java.util.Arrays.hashCode(timesteps);
  }

  @Override
  public String toString() {
    return "AttemptSchedule[steps="
        + steps
        + ", timesteps="
        + java.util.Arrays.toString(timesteps)
        + "]";
  }
}

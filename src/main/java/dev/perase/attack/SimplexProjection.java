package dev.perase.attack;

import java.util.Arrays;

/**
 * Euclidean projection onto the probability simplex (Duchi, Shalev-Shwartz, Singer & Chandra 2008,
 * "Efficient projections onto the l1-ball", Fig. 1), restricted to the allowed coordinates:
 *
 * <pre>
 *   w = argmin ‖w − v‖²  subject to  Σ w = 1,  w ≥ 0,  w_j = 0 for every excluded j
 *     = max(v − θ, 0) on the allowed coordinates, θ = (Σ_{i ≤ ρ} u_i − 1) / ρ,
 *   u = the allowed values sorted in descending order, ρ = max { j : u_j − (Σ_{i ≤ j} u_i − 1) / j > 0 }
 * </pre>
 *
 * The UnlearnDiff code finds the same θ by bisection; the sort gives it exactly. Only values above
 * max(v) − 1 can stay positive (θ ≥ max(v) − 1, since no output exceeds 1), so only those are
 * sorted. Sums are taken in double.
 */
public final class SimplexProjection {
  private SimplexProjection() {}

  /**
   * Projects {@code row} in place onto the simplex over the coordinates where {@code allowed} is
   * true; the others become 0.
   *
   * @throws IllegalArgumentException when no coordinate is allowed or a value is not finite
   */
  public static void project(float[] row, boolean[] allowed) {
    if (row.length != allowed.length) {
      throw new IllegalArgumentException(
          "row of " + row.length + " values, mask of " + allowed.length);
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < row.length; j++) {
      if (allowed[j]) {
        if (!Float.isFinite(row[j])) {
          throw new IllegalArgumentException("value " + row[j] + " at coordinate " + j);
        }
        max = Math.max(max, row[j]);
      }
    }
    if (max == Double.NEGATIVE_INFINITY) {
      throw new IllegalArgumentException("no coordinate is allowed");
    }
    // 1. candidates u: the allowed values above max − 1 (the largest among them), sorted
    double floor = max - 1;
    double[] u = new double[row.length];
    int n = 0;
    for (int j = 0; j < row.length; j++) {
      if (allowed[j] && row[j] > floor) {
        u[n++] = row[j];
      }
    }
    Arrays.sort(u, 0, n); // ascending; walked from the end
    // 2. ρ and θ
    double sum = 0;
    double theta = 0;
    for (int j = 1; j <= n; j++) {
      double uj = u[n - j];
      sum += uj;
      double t = (sum - 1) / j;
      if (uj - t > 0) {
        theta = t;
      } else {
        break; // the condition holds for a prefix of j only (Duchi et al., Lemma 2)
      }
    }
    // 3. w = max(v − θ, 0) on the allowed coordinates
    for (int j = 0; j < row.length; j++) {
      row[j] = allowed[j] ? (float) Math.max(row[j] - theta, 0) : 0f;
    }
  }
}

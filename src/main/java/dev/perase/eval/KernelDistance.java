package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.SplittableRandom;

/**
 * The kernel inception distance (KID; Bińkowski et al. 2018, "Demystifying MMD GANs", §3) as
 * clean-fid's {@code kernel_distance} computes it: the unbiased estimate of the squared maximum
 * mean discrepancy with the cubic polynomial kernel {@code k(x, y) = (x·y / d + 1)³}, averaged over
 * random subsets.
 *
 * <pre>
 *   m = min(N₁, N₂, max_subset_size)
 *   for each of num_subsets subsets:
 *       x = m rows of set 2, y = m rows of set 1   (np.random.choice(N, m, replace=False))
 *       a = k(x, x) + k(y, y),  b = k(x, y)          (m × m)
 *       t += (Σ a − Σ diag a) / (m − 1) − 2 Σ b / m
 *   kid = t / num_subsets / m
 * </pre>
 *
 * <p>A draw of m of N rows without replacement is a permutation of all N rows when m = N, and the
 * sums above do not depend on the order of the rows: when both sets have m rows (N₁ = N₂ ≤ {@code
 * maxSubsetSize}) every subset gives the same value, computed once here, and the result does not
 * depend on any random draw ({@link Result#exact()}). Otherwise the rows are drawn with a seeded
 * Java generator ({@link SplittableRandom}, partial Fisher–Yates), so the subsets, and the value in
 * its last digits, differ from a clean-fid run (which draws from numpy's unseeded global state, so
 * differs from run to run itself).
 *
 * <p>Precision: the Gram matrices and the sums are float64 (libtorch on the manager's device);
 * clean-fid computes in float32. On the detector fixture the two differ by 5e-7 relative.
 */
public final class KernelDistance {
  private KernelDistance() {}

  /**
   * How KID is sampled.
   *
   * @param numSubsets subsets averaged (clean-fid: 100)
   * @param maxSubsetSize rows per subset at most (clean-fid: 1000)
   * @param seed the seed of the row draws when a subset is not a whole set
   */
  public record Settings(
      @JsonProperty("num_subsets") int numSubsets,
      @JsonProperty("max_subset_size") int maxSubsetSize,
      @JsonProperty("seed") long seed) {
    /** clean-fid's {@code kernel_distance} defaults, draws seeded with 0. */
    public static final Settings CLEAN_FID = new Settings(100, 1000, 0);

    public Settings {
      if (numSubsets < 1) {
        throw new BadInputException("KID needs at least one subset, not " + numSubsets);
      }
      if (maxSubsetSize < 2) {
        throw new BadInputException("KID subsets need at least 2 rows, not " + maxSubsetSize);
      }
    }
  }

  /**
   * The estimate.
   *
   * @param kid the kernel inception distance
   * @param subsetSize m, the rows per subset
   * @param exact whether every subset holds all rows of both sets, so that no draw matters
   */
  public record Result(
      @JsonProperty("kid") double kid,
      @JsonProperty("subset_size") int subsetSize,
      @JsonProperty("num_subsets") int numSubsets,
      @JsonProperty("exact") boolean exact,
      @JsonProperty("seed") long seed) {}

  /** KID with clean-fid's defaults. */
  public static Result of(float[][] features1, float[][] features2, NDManager manager) {
    return of(features1, features2, Settings.CLEAN_FID, manager);
  }

  /**
   * KID of two feature sets (N₁ × d and N₂ × d, N ≥ 2).
   *
   * @param manager where the Gram matrices are computed (freed before it returns)
   */
  public static Result of(
      float[][] features1, float[][] features2, Settings settings, NDManager manager) {
    int n1 = features1.length;
    int n2 = features2.length;
    if (n1 < 2 || n2 < 2) {
      throw new BadInputException(
          "KID needs at least 2 feature vectors per set, got " + n1 + " and " + n2);
    }
    int d = features1[0].length;
    checkWidth(features1, d);
    checkWidth(features2, d);
    int m = Math.min(Math.min(n1, n2), settings.maxSubsetSize());
    boolean exact = n1 == m && n2 == m;
    SplittableRandom rng = new SplittableRandom(settings.seed());
    double t = 0;
    int subsets = exact ? 1 : settings.numSubsets();
    for (int s = 0; s < subsets; s++) {
      // clean-fid's order: x from set 2 first, then y from set 1
      double[] x = rows(features2, draw(n2, m, rng), d);
      double[] y = rows(features1, draw(n1, m, rng), d);
      t += subsetTerm(x, y, m, d, manager);
    }
    // exact: all num_subsets terms are this one term, so t / num_subsets is the term itself
    double kid = t / subsets / m;
    return new Result(kid, m, settings.numSubsets(), exact, settings.seed());
  }

  /** {@code (Σ a − Σ diag a) / (m − 1) − 2 Σ b / m} for one subset (x, y: m × d, row-major). */
  private static double subsetTerm(double[] x, double[] y, int m, int d, NDManager manager) {
    try (NDManager sub = manager.newSubManager()) {
      NDArray xs = sub.create(x, new Shape(m, d)); // float64
      NDArray ys = sub.create(y, new Shape(m, d));
      double a = kernel(xs, xs, d).sum().getDouble() + kernel(ys, ys, d).sum().getDouble();
      // diag k(x, x) = (|xᵢ|² / d + 1)³
      double diag =
          xs.square().sum(new int[] {1}).div(d).add(1).pow(3).sum().getDouble()
              + ys.square().sum(new int[] {1}).div(d).add(1).pow(3).sum().getDouble();
      double b = kernel(xs, ys, d).sum().getDouble();
      return (a - diag) / (m - 1) - b * 2 / m;
    }
  }

  /** {@code (u vᵀ / d + 1)³}, m × m. */
  private static NDArray kernel(NDArray u, NDArray v, int d) {
    return u.matMul(v.transpose()).div(d).add(1).pow(3);
  }

  /**
   * m distinct row indices of n: all rows in order when m = n (the sums do not depend on the
   * order), else the first m of a seeded partial Fisher–Yates shuffle.
   */
  private static int[] draw(int n, int m, SplittableRandom rng) {
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    if (m == n) {
      return idx;
    }
    for (int i = 0; i < m; i++) {
      int j = i + rng.nextInt(n - i);
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return java.util.Arrays.copyOf(idx, m);
  }

  /** The chosen rows as one row-major float64 block (m × d). */
  private static double[] rows(float[][] features, int[] idx, int d) {
    double[] out = new double[idx.length * d];
    for (int i = 0; i < idx.length; i++) {
      float[] row = features[idx[i]];
      for (int j = 0; j < d; j++) {
        out[i * d + j] = row[j];
      }
    }
    return out;
  }

  private static void checkWidth(float[][] features, int d) {
    for (int i = 0; i < features.length; i++) {
      if (features[i].length != d) {
        throw new BadInputException(
            "feature vector " + i + " has " + features[i].length + " values, expected " + d);
      }
      for (float v : features[i]) {
        if (!Float.isFinite(v)) {
          throw new BadInputException("feature vector " + i + " holds a non-finite value");
        }
      }
    }
  }
}

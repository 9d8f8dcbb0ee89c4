package dev.perase.eval;

import dev.perase.io.BadInputException;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The Fréchet distance between two sets of feature vectors, as pytorch-fid's {@code
 * calculate_frechet_distance} and clean-fid's {@code frechet_distance} compute it (FID when the
 * features are Inception pool3; the world uses its detector's penultimate features):
 *
 * <pre>
 *   μ = mean(X, axis 0),  Σ = cov(X) with ddof 1 (np.cov(X, rowvar=False))
 *   d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁ Σ₂)^{1/2}
 * </pre>
 *
 * <p><b>The square-root term.</b> The references take {@code scipy.linalg.sqrtm(Σ₁·Σ₂)} (a Schur
 * method on a product that is not symmetric), keep its real part and read its trace. Here the trace
 * comes from a symmetric problem with the same non-zero spectrum instead: with the pivoted Cholesky
 * factor {@code Σ₁ = F Fᵀ} ({@link PivotedCholesky}, F = Pᵀ L of n × r, r the numerical rank), the
 * matrix {@code M = Fᵀ Σ₂ F} (r × r) has the non-zero eigenvalues of {@code Σ₁ Σ₂ = F (Fᵀ Σ₂)}
 * (eig(AB) = eig(BA) away from 0). M is symmetric positive semi-definite, so its eigenvalues λᵢ are
 * real and ≥ 0 up to rounding, and {@code tr (Σ₁Σ₂)^{1/2} = Σᵢ √max(λᵢ, 0)} — the trace of the
 * principal square root, which is what sqrtm returns. The factor is taken of whichever covariance
 * has the lower rank (tr (Σ₁Σ₂)^{1/2} = tr (Σ₂Σ₁)^{1/2}); a covariance of N samples has rank at
 * most N − 1, and the factorisation stops there. Only M's eigenvalues are needed ({@link
 * SymmetricEigen}, no eigenvectors): about n³/3 + n³ multiply-adds for the factor and M plus the
 * eigenvalues of an r × r matrix. For two full-rank 2048 × 2048 covariances that is 8.5–12.5 s on
 * the shared 2-core development machine (factor 1.7 s, M 1.4–1.9 s, eigenvalues 4.5–7 s), where the
 * route through Σ₁'s eigenvectors takes 31–33 s ({@code SymmetricEigenBench}); for 7 + 7 Inception
 * features (r = 6), under a second. No complex arithmetic, no spurious imaginary parts.
 *
 * <p>Σ itself costs N·D²/2 multiply-adds: 4–5 s for 10000 × 2048 features, summed sample by sample
 * in order, as a dot product over the samples would.
 *
 * <p>How this relates to the golden values: with more samples than dimensions the two routes agree
 * to 1e-13 relative (fixture {@code tiny-sd/reference/fid.safetensors}). When a set has fewer
 * samples than dimensions, Σ₁Σ₂ has eigenvalues that are zero in exact arithmetic; sqrtm meets them
 * as rounding noise and returns square roots of that noise (with imaginary parts it drops), which
 * the rank bound here leaves out: 64 dimensions and 40 samples land 8e-9 relative apart;
 * clean-fid's 7 + 7 Inception features in 2048 dimensions ({@code detectors/inception}), where
 * ~2040 such eigenvalues add their noise to sqrtm's trace, 2e-6 apart — and 2e-13 from the exact
 * value through the 7 × 7 problem of the centred features.
 *
 * <p><b>The ε offset.</b> The references add {@code 1e-6·I} to both covariances and take sqrtm
 * again when the first sqrtm is not finite. scipy's sqrtm fails (returns NaN) in one situation that
 * real feature sets meet: a feature that is constant over the first set (an exactly zero row of Σ₁,
 * so of Σ₁Σ₂) and another feature that is constant over the second set (an exactly zero column of
 * Σ₂, so of Σ₁Σ₂). LAPACK's balancing isolates such a row and such a column as exact zero
 * eigenvalues at the two ends of the Schur form, and the triangular square-root recurrence divides
 * a non-zero entry by 0 + 0 — but only inside one of its blocks: scipy (1.10, {@code _sqrtm_triu})
 * runs the recurrence entry by entry within diagonal blocks of about 64 and couples the blocks by
 * LAPACK's Sylvester solver {@code trsyl}, which does not fail. So sqrtm fails when one block holds
 * both ends: always with 64 features or fewer, in 2048 dimensions only when nearly all features are
 * constant. This class detects exactly that condition (a feature is constant when all its values
 * are equal; its deviations from the mean are then exactly 0, as in numpy when the mean is exact)
 * and then uses the offset covariances in the square-root term, as the references do; the trace
 * terms keep the covariances without offset. It also takes the offset route if the square-root term
 * comes out non-finite. On the tiny-sd fixture's singular case (64 dimensions) this lands 1e-14
 * relative from the golden value, where the route without the offset would land 7.2e-6 away; the
 * Inception fixture has features constant in one set only on both sides (zeros after the ReLU), in
 * different blocks, and clean-fid takes no offset there, nor does this class. A singular product of
 * any other kind (a feature constant in both sets, or only in one) has its zeros in positions where
 * sqrtm succeeds, and no offset is used, as in the references.
 */
public final class FrechetDistance {
  /** The references' offset added to both covariance diagonals when sqrtm fails. */
  public static final double EPS = 1e-6;

  /** Resamples of {@link #bootstrap} unless a run asks for another count. */
  public static final int BOOTSTRAP_RESAMPLES = 200;

  /** The seed of {@link #bootstrap}'s resampling, fixed so that a rerun gives the same interval. */
  public static final long BOOTSTRAP_SEED = 20240917L;

  /** Rows of Σ accumulated together by {@link #statistics}. */
  private static final int PANEL = 32;

  private FrechetDistance() {}

  /**
   * Mean and covariance of one feature set.
   *
   * @param mu the mean feature vector μ (D)
   * @param sigma the covariance Σ (D × D), ddof 1
   * @param count the number of feature vectors N
   * @param constant per feature, whether all N values are equal (its row and column of Σ are 0)
   */
  public record Statistics(double[] mu, double[][] sigma, int count, boolean[] constant) {
    public int dim() {
      return mu.length;
    }
  }

  /**
   * The distance and its terms: {@code distance = meanTerm + traceSigma1 + traceSigma2 − 2
   * traceCovmean}.
   *
   * @param offsetUsed whether the square-root term was taken with ε·I added (as the references do
   *     when sqrtm of the product fails)
   */
  public record Result(
      double distance,
      double meanTerm,
      double traceSigma1,
      double traceSigma2,
      double traceCovmean,
      boolean offsetUsed) {}

  /** The Fréchet distance between two feature sets (N₁ × D and N₂ × D, N ≥ 2). */
  public static Result of(double[][] features1, double[][] features2) {
    return between(statistics(features1), statistics(features2));
  }

  /**
   * A 95 % percentile-bootstrap interval of the distance between two <em>paired</em> feature sets:
   * row i of both sets comes from prompt i (a model's and the base model's, or the rendered, images
   * of the same retain prompt). Each of {@code resamples} resamples draws N prompts with
   * replacement and keeps both sets' rows of those prompts together, so the interval holds the
   * spread of the prompt set, which both sides share; the distance of each resample is computed as
   * {@link #of} does. The ends are the 2.5th and 97.5th percentiles of the resampled distances,
   * interpolated linearly between order statistics (numpy's default {@code percentile}).
   * Deterministic: the indices come from {@code SplittableRandom(seed)}. Resamples whose distance
   * is not finite are left out; null when none is finite.
   *
   * <p>The Fréchet distance is biased upward in small samples (a resample's repeated rows lower the
   * covariances' rank), so with few prompts the interval can sit above the point estimate: read it
   * as the spread due to the prompts, not as an unbiased range. Cost: {@code resamples} distances;
   * for 200 prompts of 64 features about a millisecond each.
   */
  public static Interval bootstrap(
      double[][] features1, double[][] features2, int resamples, long seed) {
    int n = features1.length;
    if (features2.length != n) {
      throw new IllegalArgumentException(
          "a paired bootstrap needs one row per prompt in both sets, got "
              + n
              + " and "
              + features2.length);
    }
    if (resamples < 1) {
      throw new IllegalArgumentException("resamples must be ≥ 1, got " + resamples);
    }
    SplittableRandom rng = new SplittableRandom(seed);
    double[] d = new double[resamples];
    int finite = 0;
    double[][] a = new double[n][];
    double[][] b = new double[n][];
    for (int r = 0; r < resamples; r++) {
      for (int i = 0; i < n; i++) {
        int k = rng.nextInt(n);
        a[i] = features1[k];
        b[i] = features2[k];
      }
      double v = of(a, b).distance();
      if (Double.isFinite(v)) {
        d[finite++] = v;
      }
    }
    if (finite == 0) {
      return null;
    }
    double[] sorted = Arrays.copyOf(d, finite);
    Arrays.sort(sorted);
    return new Interval(percentile(sorted, 2.5), percentile(sorted, 97.5));
  }

  /** The q-th percentile of sorted values, linear between order statistics (numpy's default). */
  static double percentile(double[] sorted, double q) {
    double pos = q / 100 * (sorted.length - 1);
    int i = (int) Math.floor(pos);
    if (i + 1 >= sorted.length) {
      return sorted[sorted.length - 1];
    }
    return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
  }

  /**
   * μ and Σ of a feature set (N × D): the mean accumulated row by row in double and divided by N
   * (numpy's order for {@code mean(axis=0)}), then {@code Σ = (X − μ)ᵀ(X − μ) / (N − 1)}.
   */
  public static Statistics statistics(double[][] x) {
    int n = x.length;
    if (n < 2) {
      throw new BadInputException(
          "a Fréchet distance needs at least 2 feature vectors per set, got " + n);
    }
    int dim = x[0].length;
    double[] mu = new double[dim];
    for (int i = 0; i < n; i++) {
      if (x[i].length != dim) {
        throw new BadInputException(
            "feature vector " + i + " has " + x[i].length + " values, the first has " + dim);
      }
      for (int j = 0; j < dim; j++) {
        double v = x[i][j];
        if (!Double.isFinite(v)) {
          throw new BadInputException("feature vector " + i + " holds a non-finite value at " + j);
        }
        mu[j] += v;
      }
    }
    boolean[] constant = new boolean[dim];
    for (int j = 0; j < dim; j++) {
      mu[j] /= n;
      constant[j] = true;
      for (int i = 1; i < n && constant[j]; i++) {
        constant[j] = x[i][j] == x[0][j];
      }
      if (constant[j]) {
        mu[j] = x[0][j]; // the exact mean: deviations are exactly 0
      }
    }
    // Σ[a][b] = Σᵢ dev_i[a]·dev_i[b] summed over i in order (b ≤ a), dev_i = x_i − μ (exactly 0
    // for a constant feature). A panel of rows of Σ at a time takes every sample's outer product:
    // whole rows, which the JIT vectorises, while the panel stays in cache.
    double[][] sigma = new double[dim][dim];
    double[] dev = new double[dim];
    for (int a0 = 0; a0 < dim; a0 += PANEL) {
      int a1 = Math.min(a0 + PANEL, dim);
      for (double[] xi : x) {
        for (int b = 0; b < a1; b++) {
          dev[b] = constant[b] ? 0 : xi[b] - mu[b];
        }
        for (int a = a0; a < a1; a++) {
          double da = dev[a];
          if (da != 0) {
            RowOps.axpy(da, dev, 0, sigma[a], 0, a + 1);
          }
        }
      }
    }
    for (int a = 0; a < dim; a++) {
      for (int b = 0; b <= a; b++) {
        double v = sigma[a][b] / (n - 1);
        sigma[a][b] = v;
        sigma[b][a] = v;
      }
    }
    return new Statistics(mu, sigma, n, constant);
  }

  /** The Fréchet distance between two sets given by their statistics. */
  public static Result between(Statistics s1, Statistics s2) {
    int dim = s1.dim();
    if (s2.dim() != dim) {
      throw new BadInputException(
          "feature sets of different widths: " + dim + " and " + s2.dim() + " values per vector");
    }
    double meanTerm = 0;
    double tr1 = 0;
    double tr2 = 0;
    for (int j = 0; j < dim; j++) {
      double diff = s1.mu()[j] - s2.mu()[j];
      meanTerm += diff * diff;
      tr1 += s1.sigma()[j][j];
      tr2 += s2.sigma()[j][j];
    }
    boolean offset = sqrtmFails(s1.constant(), s2.constant());
    double trCovmean = traceSqrtProduct(s1, s2, offset ? EPS : 0);
    if (!Double.isFinite(trCovmean) && !offset) {
      offset = true;
      trCovmean = traceSqrtProduct(s1, s2, EPS);
    }
    double d = meanTerm + tr1 + tr2 - 2 * trCovmean;
    return new Result(d, meanTerm, tr1, tr2, trCovmean, offset);
  }

  /** The block size of scipy's blocked square-root recurrence ({@code _sqrtm_triu}). */
  private static final int SQRTM_BLOCK = 64;

  /**
   * Whether scipy's sqrtm of Σ₁Σ₂ fails (see the class comment): some feature constant in set 1
   * only (a zero row, isolated at the bottom of the Schur form), some feature constant in set 2
   * only (a zero column, isolated at the top), and one block of scipy's recurrence holding both the
   * last isolated top position and the first isolated bottom one.
   */
  static boolean sqrtmFails(boolean[] constant1, boolean[] constant2) {
    int n = constant1.length;
    int rows = 0; // zero rows of Σ₁Σ₂: constant in set 1 (alone or in both)
    int cols = 0; // zero columns that are not zero rows: constant in set 2 only
    boolean only1 = false;
    for (int j = 0; j < n; j++) {
      if (constant1[j]) {
        rows++;
        only1 |= !constant2[j];
      } else if (constant2[j]) {
        cols++;
      }
    }
    return only1 && cols > 0 && sqrtmBlock(cols - 1, n) == sqrtmBlock(n - rows, n);
  }

  /**
   * The block of position p in scipy's partition of n: {@code max(n // 64, 1)} blocks, the first
   * ones of {@code n // nblocks} positions and the last {@code n % nblocks} one position longer.
   */
  static int sqrtmBlock(int p, int n) {
    int blocks = Math.max(n / SQRTM_BLOCK, 1);
    int small = n / blocks;
    int smallBlocks = blocks - n % blocks;
    return p < smallBlocks * small
        ? p / small
        : smallBlocks + (p - smallBlocks * small) / (small + 1);
  }

  /**
   * {@code tr ((Σ₁ + εI)(Σ₂ + εI))^{1/2}} as {@code Σᵢ √max(λᵢ, 0)} over the eigenvalues of {@code
   * M = Lᵀ Σ' L}, where {@code L Lᵀ} is the pivoted Cholesky factor of the one of the two matrices
   * with the lower numerical rank and {@code Σ'} is the other (see the class comment).
   */
  static double traceSqrtProduct(Statistics s1, Statistics s2, double eps) {
    // a covariance of N samples has rank ≤ N − 1; with the offset it has full rank
    int n = s1.dim();
    int bound1 = eps > 0 ? n : Math.min(n, s1.count() - 1);
    int bound2 = eps > 0 ? n : Math.min(n, s2.count() - 1);
    // eig(Σ₁Σ₂) = eig(Σ₂Σ₁): factor the one of lower rank, so that M is rank × rank. The set with
    // fewer samples first; the other only if the first has less than full rank, and then no
    // further than that rank.
    boolean oneFirst = bound1 <= bound2;
    double[][] a = offset(oneFirst ? s1.sigma() : s2.sigma(), eps);
    double[][] b = offset(oneFirst ? s2.sigma() : s1.sigma(), eps);
    PivotedCholesky f = PivotedCholesky.of(a, oneFirst ? bound1 : bound2);
    double[][] m = null;
    if (f.rank() < n) {
      PivotedCholesky g = PivotedCholesky.of(b, Math.min(oneFirst ? bound2 : bound1, f.rank()));
      if (g.rank() < f.rank()) {
        m = g.congruence(a);
      }
    }
    if (m == null) {
      m = f.congruence(b);
    }
    double trace = 0;
    for (double lambda : SymmetricEigen.of(m, false).values()) {
      trace += Math.sqrt(Math.max(lambda, 0)); // M is PSD: negative values are rounding
    }
    return trace;
  }

  private static double[][] offset(double[][] sigma, double eps) {
    int n = sigma.length;
    double[][] out = new double[n][];
    for (int i = 0; i < n; i++) {
      out[i] = sigma[i].clone();
      out[i][i] += eps;
    }
    return out;
  }
}

package dev.perase.eval;

import dev.perase.io.BadInputException;

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
 * comes from a symmetric problem with the same spectrum instead: with {@code Σ₁ = V Λ Vᵀ}, the
 * matrix {@code M = Λ^{1/2} Vᵀ Σ₂ V Λ^{1/2}} is similar to {@code Σ₁^{1/2} Σ₂ Σ₁^{1/2}}, whose
 * non-zero eigenvalues are those of {@code Σ₁ Σ₂} (eig(AB) = eig(BA) away from 0, A = Σ₁^{1/2}, B =
 * Σ₁^{1/2}Σ₂). M is symmetric positive semi-definite, so its eigenvalues λᵢ are real and ≥ 0 up to
 * rounding, and {@code tr (Σ₁Σ₂)^{1/2} = Σᵢ √max(λᵢ, 0)} — the trace of the principal square root,
 * which is what sqrtm returns. Both eigen-problems are symmetric ({@link SymmetricEigen}), hence
 * backward stable: no complex arithmetic, no spurious imaginary parts.
 *
 * <p>How this relates to the golden values (fixture {@code reference/fid.safetensors}): with more
 * samples than dimensions the two routes agree to 1e-13 relative. When a set has fewer samples than
 * dimensions, Σ₁Σ₂ has eigenvalues that are zero in exact arithmetic; sqrtm meets them as ±1e-16
 * and returns square roots of about 1e-8 (with imaginary parts it drops), which the clamp here sets
 * to 0: the two land 6e-9 relative apart.
 *
 * <p><b>The ε offset.</b> The references add {@code 1e-6·I} to both covariances and take sqrtm
 * again when the first sqrtm is not finite. scipy's sqrtm fails (returns NaN) in one situation that
 * real feature sets meet: a feature that is constant over the first set (an exactly zero row of Σ₁,
 * so of Σ₁Σ₂) and another feature that is constant over the second set (an exactly zero column of
 * Σ₂, so of Σ₁Σ₂). LAPACK's balancing isolates such a row and such a column as two exact zero
 * eigenvalues at opposite ends of the Schur form, and the triangular square-root recurrence then
 * divides a non-zero entry by 0 + 0. This class detects exactly that condition (a feature is
 * constant when all its values are equal; its deviations from the mean are then exactly 0, as in
 * numpy when the mean is exact) and then uses the offset covariances in the square-root term, as
 * the references do; the trace terms keep the covariances without offset. It also takes the offset
 * route if the square-root term comes out non-finite. On the fixture's singular case this lands
 * 4e-16 relative from the golden value, where the eigenvalue route without the offset would land
 * 7.2e-6 away. A singular product of any other kind (a feature constant in both sets, or only in
 * one) has its zeros in positions where sqrtm succeeds, and no offset is used, as in the
 * references.
 */
public final class FrechetDistance {
  /** The references' offset added to both covariance diagonals when sqrtm fails. */
  public static final double EPS = 1e-6;

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
    // deviations, feature-major: dev[j][i] = x[i][j] − μ[j]
    double[][] dev = new double[dim][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < dim; j++) {
        dev[j][i] = constant[j] ? 0 : x[i][j] - mu[j];
      }
    }
    double[][] sigma = new double[dim][dim];
    for (int a = 0; a < dim; a++) {
      double[] da = dev[a];
      for (int b = 0; b <= a; b++) {
        double[] db = dev[b];
        double s = 0;
        for (int i = 0; i < n; i++) {
          s += da[i] * db[i];
        }
        s /= n - 1;
        sigma[a][b] = s;
        sigma[b][a] = s;
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
    double trCovmean = traceSqrtProduct(s1.sigma(), s2.sigma(), offset ? EPS : 0);
    if (!Double.isFinite(trCovmean) && !offset) {
      offset = true;
      trCovmean = traceSqrtProduct(s1.sigma(), s2.sigma(), EPS);
    }
    double d = meanTerm + tr1 + tr2 - 2 * trCovmean;
    return new Result(d, meanTerm, tr1, tr2, trCovmean, offset);
  }

  /**
   * Whether scipy's sqrtm of Σ₁Σ₂ fails (see the class comment): some feature constant in set 1
   * only and some feature constant in set 2 only.
   */
  static boolean sqrtmFails(boolean[] constant1, boolean[] constant2) {
    boolean only1 = false;
    boolean only2 = false;
    for (int j = 0; j < constant1.length; j++) {
      only1 |= constant1[j] && !constant2[j];
      only2 |= constant2[j] && !constant1[j];
    }
    return only1 && only2;
  }

  /**
   * {@code tr ((Σ₁ + εI)(Σ₂ + εI))^{1/2}} as {@code Σᵢ √max(λᵢ, 0)} over the eigenvalues of {@code
   * M = Λ^{1/2} Vᵀ (Σ₂ + εI) V Λ^{1/2}}, where {@code Σ₁ + εI = V Λ Vᵀ}.
   */
  static double traceSqrtProduct(double[][] sigma1, double[][] sigma2, double eps) {
    int n = sigma1.length;
    double[][] a = offset(sigma1, eps);
    double[][] b = offset(sigma2, eps);
    SymmetricEigen e1 = SymmetricEigen.of(a, true);
    double[][] v = e1.vectors();
    double[] root = new double[n];
    for (int i = 0; i < n; i++) {
      root[i] = Math.sqrt(Math.max(e1.values()[i], 0)); // Σ₁ is PSD: negative values are rounding
    }
    // bv = B V (n × n), then M = Λ^{1/2} (Vᵀ B V) Λ^{1/2}, lower triangle
    double[][] bv = new double[n][n];
    for (int i = 0; i < n; i++) {
      double[] bi = b[i];
      double[] out = bv[i];
      for (int k = 0; k < n; k++) {
        double bik = bi[k];
        if (bik != 0) {
          double[] vk = v[k];
          for (int j = 0; j < n; j++) {
            out[j] += bik * vk[j];
          }
        }
      }
    }
    double[][] vt = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        vt[j][i] = v[i][j];
      }
    }
    double[][] bvt = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        bvt[j][i] = bv[i][j];
      }
    }
    double[][] m = new double[n][n];
    for (int i = 0; i < n; i++) {
      double[] vi = vt[i]; // column i of V
      for (int j = 0; j <= i; j++) {
        double[] bj = bvt[j]; // column j of B V
        double s = 0;
        for (int k = 0; k < n; k++) {
          s += vi[k] * bj[k];
        }
        m[i][j] = root[i] * s * root[j];
      }
    }
    double trace = 0;
    for (double lambda : SymmetricEigen.of(m, false).values()) {
      trace += Math.sqrt(Math.max(lambda, 0));
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

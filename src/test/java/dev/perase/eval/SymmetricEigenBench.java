package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Time and accuracy of the dense linear algebra behind FID at Inception's width, n = 2048: {@link
 * SymmetricEigen} with and without vectors on a covariance of random features, the square-root term
 * {@code tr (Σ₁Σ₂)^{1/2}} by {@link FrechetDistance}'s route (pivoted Cholesky, eigenvalues only)
 * and by the eigenvector route it replaced, and the covariances themselves. A benchmark, not a test
 * of the build: it runs only when asked,
 *
 * <pre>
 *   mvn -q -B test -Dtest=SymmetricEigenBench -Dperase.bench=true \
 *       [-Dperase.bench.n=1024] [-Dperase.bench.samples=10000]
 * </pre>
 *
 * and prints one line per measurement to stderr.
 */
@EnabledIfSystemProperty(named = "perase.bench", matches = "true")
class SymmetricEigenBench {
  private static final int N = Integer.getInteger("perase.bench.n", 2048);

  /** Samples per feature set: more than n, so both covariances have full rank. */
  private static final int SAMPLES = Integer.getInteger("perase.bench.samples", 2 * N);

  /**
   * A set of Gaussian features, n wide, with per-feature scales in (0.1, 2) and means in (0, 1),
   * like Inception pool3 features roughly are.
   */
  private static double[][] features(long seed) {
    Random rng = new Random(seed);
    double[] scale = new double[N];
    double[] mean = new double[N];
    for (int j = 0; j < N; j++) {
      scale[j] = 0.1 + 1.9 * rng.nextDouble();
      mean[j] = rng.nextDouble();
    }
    double[][] x = new double[SAMPLES][N];
    for (double[] row : x) {
      for (int j = 0; j < N; j++) {
        row[j] = mean[j] + scale[j] * rng.nextGaussian();
      }
    }
    return x;
  }

  private static FrechetDistance.Statistics timedStatistics(double[][] x, String what) {
    Clock t = Clock.start();
    FrechetDistance.Statistics s = FrechetDistance.statistics(x);
    report("%s: μ and Σ of %d × %d features %s", what, x.length, N, t.elapsed());
    return s;
  }

  /**
   * Wall and CPU time since {@link #start}: the CPU time of this thread is what a loaded, shared
   * machine changes least.
   */
  private record Clock(long wall, long cpu) {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    static Clock start() {
      return new Clock(System.nanoTime(), THREADS.getCurrentThreadCpuTime());
    }

    String elapsed() {
      return String.format(
          Locale.ROOT,
          "%.2f s (cpu %.2f s)",
          (System.nanoTime() - wall) / 1e9,
          (THREADS.getCurrentThreadCpuTime() - cpu) / 1e9);
    }
  }

  private static void report(String format, Object... args) {
    System.err.println(String.format(Locale.ROOT, "bench n=%d: " + format, prepend(N, args)));
  }

  private static Object[] prepend(Object first, Object[] rest) {
    Object[] out = new Object[rest.length + 1];
    out[0] = first;
    System.arraycopy(rest, 0, out, 1, rest.length);
    return out;
  }

  @Test
  void eigenDecompositionOfARandomSpdMatrix() {
    double[][] a = timedStatistics(features(1), "eigen").sigma();
    Clock t = Clock.start();
    SymmetricEigen e = SymmetricEigen.of(a, true);
    String withVectors = t.elapsed();
    t = Clock.start();
    double[] values = SymmetricEigen.of(a, false).values();
    String valuesOnly = t.elapsed();
    double[][] v = e.vectors();
    double[] lambda = e.values();
    double norm = Math.max(Math.abs(lambda[0]), Math.abs(lambda[N - 1]));
    // residual max |A V − V Λ| / ‖A‖₂ and orthogonality max |VᵀV − I|, row-wise products
    double[][] vt = new double[N][N];
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < N; j++) {
        vt[j][i] = v[i][j];
      }
    }
    double residual = 0;
    double ortho = 0;
    for (int j = 0; j < N; j++) {
      double[] vj = vt[j];
      for (int i = 0; i < N; i++) {
        double s = 0;
        double[] ai = a[i];
        for (int k = 0; k < N; k++) {
          s += ai[k] * vj[k];
        }
        residual = Math.max(residual, Math.abs(s - lambda[j] * vj[i]));
      }
      for (int i = 0; i <= j; i++) {
        double s = 0;
        double[] vi = vt[i];
        for (int k = 0; k < N; k++) {
          s += vi[k] * vj[k];
        }
        ortho = Math.max(ortho, Math.abs(s - (i == j ? 1 : 0)));
      }
    }
    double valuesDiff = 0;
    for (int k = 0; k < N; k++) {
      valuesDiff = Math.max(valuesDiff, Math.abs(values[k] - lambda[k]));
    }
    report(
        "eigen with vectors %s, values only %s; λ in [%.3g, %.3g]; max|AV − VΛ|/‖A‖"
            + " %.2e, max|VᵀV − I| %.2e, values-only vs with-vectors %.2e",
        withVectors, valuesOnly, lambda[0], lambda[N - 1], residual / norm, ortho, valuesDiff);
    assertTrue(residual / norm < 1e-12 && ortho < 1e-12 && valuesDiff < 1e-12 * norm);
  }

  @Test
  void squareRootTermOfTwoFullRankCovariances() {
    FrechetDistance.Statistics a = timedStatistics(features(2), "sqrt term");
    FrechetDistance.Statistics b = timedStatistics(features(3), "sqrt term");
    double[][] s1 = a.sigma();
    Clock t = Clock.start();
    double route = FrechetDistance.traceSqrtProduct(a, b, 0);
    String routeTime = t.elapsed();
    t = Clock.start();
    double viaVectors = eigenvectorRoute(s1, b.sigma());
    String vectorsTime = t.elapsed();
    // Σ₂ = Σ₁: tr (Σ₁²)^{1/2} = tr Σ₁ exactly
    double trace = 0;
    for (int i = 0; i < N; i++) {
      trace += s1[i][i];
    }
    double self = FrechetDistance.traceSqrtProduct(a, a, 0);
    report(
        "tr (Σ₁Σ₂)^½ by pivoted Cholesky + eigenvalues %s, by Σ₁'s eigenvectors %s,"
            + " relative difference %.2e; tr (Σ₁Σ₁)^½ vs tr Σ₁: %.2e relative",
        routeTime,
        vectorsTime,
        Math.abs(route - viaVectors) / viaVectors,
        Math.abs(self - trace) / trace);
    assertTrue(Math.abs(self - trace) < 1e-10 * trace);
  }

  /**
   * The former route: {@code Σ₁ = V Λ Vᵀ}, {@code M = Λ^½ Vᵀ Σ₂ V Λ^½}, {@code Σ √max(eig M, 0)}.
   */
  private static double eigenvectorRoute(double[][] s1, double[][] s2) {
    int n = s1.length;
    SymmetricEigen e = SymmetricEigen.of(s1, true);
    double[][] v = e.vectors();
    double[] root = new double[n];
    for (int i = 0; i < n; i++) {
      root[i] = Math.sqrt(Math.max(e.values()[i], 0));
    }
    double[][] bv = new double[n][n]; // Σ₂ V, row by row
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        double bik = s2[i][k];
        double[] vk = v[k];
        double[] out = bv[i];
        for (int j = 0; j < n; j++) {
          out[j] += bik * vk[j];
        }
      }
    }
    double[][] m = new double[n][n]; // Vᵀ (Σ₂ V), lower triangle, row by row over k
    for (int k = 0; k < n; k++) {
      double[] vk = v[k];
      double[] bk = bv[k];
      for (int i = 0; i < n; i++) {
        double vki = vk[i];
        double[] mi = m[i];
        for (int j = 0; j <= i; j++) {
          mi[j] += vki * bk[j];
        }
      }
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        m[i][j] *= root[i] * root[j];
      }
    }
    double trace = 0;
    for (double lambda : SymmetricEigen.of(m, false).values()) {
      trace += Math.sqrt(Math.max(lambda, 0));
    }
    return trace;
  }
}

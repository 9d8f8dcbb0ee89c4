package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Euclidean projection onto the simplex: on the simplex, the optimality (KKT) conditions of the
 * projection, agreement with the UnlearnDiff code's bisection, and excluded coordinates.
 */
class SimplexProjectionTest {
  private static final double SUM_TOL = 1e-5;

  /** The UnlearnDiff code's way: bisection on μ for Σ clip(v − μ, 0, 1) = 1, in double. */
  private static double[] bisection(float[] v, boolean[] allowed) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < v.length; j++) {
      if (allowed[j]) {
        lo = Math.min(lo, v[j] - 1);
        hi = Math.max(hi, v[j]);
      }
    }
    for (int it = 0; it < 200; it++) {
      double mu = (lo + hi) / 2;
      double s = 0;
      for (int j = 0; j < v.length; j++) {
        if (allowed[j]) {
          s += Math.min(Math.max(v[j] - mu, 0), 1);
        }
      }
      if (s > 1) {
        lo = mu;
      } else {
        hi = mu;
      }
    }
    double mu = (lo + hi) / 2;
    double[] w = new double[v.length];
    for (int j = 0; j < v.length; j++) {
      w[j] = allowed[j] ? Math.min(Math.max(v[j] - mu, 0), 1) : 0;
    }
    return w;
  }

  @Test
  void projectionLandsOnTheSimplexAndMeetsTheOptimalityConditions() {
    SplittableRandom rng = new SplittableRandom(7);
    for (int trial = 0; trial < 200; trial++) {
      int n = 1 + rng.nextInt(300);
      float scale = (float) Math.pow(10, rng.nextInt(5) - 2); // 0.01 … 100
      float[] v = new float[n];
      boolean[] allowed = new boolean[n];
      for (int j = 0; j < n; j++) {
        v[j] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        allowed[j] = rng.nextInt(5) != 0;
      }
      allowed[rng.nextInt(n)] = true;
      float[] w = v.clone();
      SimplexProjection.project(w, allowed);

      double sum = 0;
      double theta = Double.NaN; // v_j − w_j on the support, one value
      for (int j = 0; j < n; j++) {
        assertTrue(w[j] >= 0, "negative weight");
        if (!allowed[j]) {
          assertEquals(0f, w[j], "excluded coordinate " + j);
        }
        sum += w[j];
        if (w[j] > 0) {
          double d = v[j] - w[j];
          if (Double.isNaN(theta)) {
            theta = d;
          }
          assertEquals(theta, d, 1e-5 * Math.max(1, scale), "shift on the support");
        }
      }
      assertEquals(1.0, sum, SUM_TOL, "sum");
      for (int j = 0; j < n; j++) {
        if (allowed[j] && w[j] == 0) {
          assertTrue(v[j] <= theta + 1e-5 * Math.max(1, scale), "zeroed value above θ");
        }
      }
      double[] ref = bisection(v, allowed);
      for (int j = 0; j < n; j++) {
        assertEquals(ref[j], w[j], 2e-6 * Math.max(1, scale), "bisection at " + j);
      }
    }
  }

  @Test
  void aPointOnTheSimplexStaysPutAndAOneHotIsFixed() {
    float[] p = {0.1f, 0.2f, 0.3f, 0.4f};
    boolean[] all = {true, true, true, true};
    float[] w = p.clone();
    SimplexProjection.project(w, all);
    assertArrayEquals(p, w, 1e-7f);
    float[] hot = {0, 0, 1, 0};
    SimplexProjection.project(hot, all);
    assertArrayEquals(new float[] {0, 0, 1, 0}, hot);
    // a uniform shift does not change the projection
    float[] shifted = {5.1f, 5.2f, 5.3f, 5.4f};
    SimplexProjection.project(shifted, all);
    assertArrayEquals(p, shifted, 1e-6f);
  }

  @Test
  void excludedCoordinatesGetNothingEvenWhenLargest() {
    float[] v = {10f, 0.2f, 0.1f};
    SimplexProjection.project(v, new boolean[] {false, true, true});
    assertEquals(0f, v[0]);
    assertEquals(0.55f, v[1], 1e-6f);
    assertEquals(0.45f, v[2], 1e-6f);
    float[] one = {-3f, 7f};
    SimplexProjection.project(one, new boolean[] {true, false});
    assertArrayEquals(new float[] {1f, 0f}, one);
    assertThrows(
        IllegalArgumentException.class,
        () -> SimplexProjection.project(new float[] {1f}, new boolean[] {false}));
    assertThrows(
        IllegalArgumentException.class,
        () -> SimplexProjection.project(new float[] {Float.NaN}, new boolean[] {true}));
  }
}

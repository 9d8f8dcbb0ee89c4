package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The paired bootstrap interval of the Fréchet distance on synthetic feature sets. */
class FrechetBootstrapTest {
  /** N rows of D Gaussian features, the second set shifted by {@code shift} and scaled by 1.5. */
  private static double[][][] pairedSets(int n, int d, double shift, long seed) {
    Random r = new Random(seed);
    double[][] a = new double[n][d];
    double[][] b = new double[n][d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        a[i][j] = r.nextGaussian();
        b[i][j] = shift + 1.5 * r.nextGaussian();
      }
    }
    return new double[][][] {a, b};
  }

  @Test
  void intervalIsDeterministicPerSeedAndHoldsThePointEstimate() {
    double[][][] s = pairedSets(200, 8, 0.5, 1);
    double point = FrechetDistance.of(s[0], s[1]).distance();
    Interval first = FrechetDistance.bootstrap(s[0], s[1], 100, 7);
    Interval again = FrechetDistance.bootstrap(s[0], s[1], 100, 7);
    Interval other = FrechetDistance.bootstrap(s[0], s[1], 100, 8);

    assertEquals(first, again);
    assertNotEquals(first, other);
    assertTrue(first.contains(point), point + " outside " + first);
    assertTrue(first.hi() - first.lo() > 0.05 * point, "a spread from 200 prompts: " + first);
    assertTrue(first.hi() - first.lo() < point, "but not wider than the distance: " + first);
  }

  @Test
  void aModelAgainstItselfHasAnIntervalAtZero() {
    double[][][] s = pairedSets(50, 4, 0, 2);
    Interval i = FrechetDistance.bootstrap(s[0], s[0], 20, 3);
    assertEquals(0, i.lo(), 1e-9);
    assertEquals(0, i.hi(), 1e-9);
  }

  @Test
  void theSetsMustBePaired() {
    double[][][] s = pairedSets(10, 3, 0, 4);
    double[][] shorter = java.util.Arrays.copyOf(s[1], 9);
    assertThrows(
        IllegalArgumentException.class, () -> FrechetDistance.bootstrap(s[0], shorter, 10, 0));
  }

  @Test
  void percentilesInterpolateAsNumpyDoes() {
    double[] sorted = {1, 2, 3, 4};
    // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) → [1.075, 3.925]
    assertEquals(1.075, FrechetDistance.percentile(sorted, 2.5), 1e-12);
    assertEquals(3.925, FrechetDistance.percentile(sorted, 97.5), 1e-12);
    assertEquals(5.0, FrechetDistance.percentile(new double[] {5}, 97.5));
  }
}

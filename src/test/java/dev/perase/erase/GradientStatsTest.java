package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The decade bins of the gradient histograms: [10^d, 10^(d+1)) by comparison with pow's edges. */
class GradientStatsTest {
  /** The definition: the d with 10^d ≤ a < 10^(d+1), clamped to the histogram's decades. */
  private static int reference(double a) {
    if (!(a < 1)) {
      return GradientStats.HIGH - GradientStats.LOW + 2;
    }
    if (a < Math.pow(10, GradientStats.LOW)) {
      return 0;
    }
    for (int d = GradientStats.HIGH; d >= GradientStats.LOW; d--) {
      if (Math.pow(10, d) <= a) {
        return d - GradientStats.LOW + 1;
      }
    }
    throw new AssertionError(a);
  }

  @Test
  void binsAreDecadesEvenAtTheirEdges() {
    int checked = 0;
    for (int d = GradientStats.LOW - 2; d <= 1; d++) {
      double edge = Math.pow(10, d);
      for (double a :
          new double[] {edge, Math.nextDown(edge), Math.nextUp(edge), (float) edge, 3 * edge}) {
        assertEquals(reference(a), GradientStats.bin(a), "bin of " + a);
        checked++;
      }
    }
    SplittableRandom rng = new SplittableRandom(1);
    for (int i = 0; i < 200_000; i++) {
      double a = Math.pow(10, rng.nextDouble(-20, 2));
      assertEquals(reference(a), GradientStats.bin(a), "bin of " + a);
      checked++;
    }
    assertEquals(0, GradientStats.bin(0));
    assertEquals(GradientStats.HIGH - GradientStats.LOW + 2, GradientStats.bin(Double.NaN));
    assertEquals("1e-8", GradientStats.label(GradientStats.bin(1e-8)));
    assertEquals("1e-9", GradientStats.label(GradientStats.bin(Math.nextDown(1e-8))));
    assertTrue(checked > 200_000);
  }
}

package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** KID as clean-fid's {@code kernel_distance}, against the detector fixture's golden values. */
class KernelDistanceTest {
  /**
   * Relative to clean-fid's KID, which is computed in float32 (this class computes in float64).
   * Reached: 5.1e-7, the float32 rounding of the reference; 1.3e-14 to its float64 value.
   */
  static final double KID_REL = 1e-6;

  static float[][] goldenFeatures(String set) {
    try (SafeTensors st =
        SafeTensors.open(InceptionFeaturesTest.DIR.resolve("golden.safetensors"))) {
      float[] flat = st.floats(set + "_features");
      int d = InceptionFeatures.DIM;
      float[][] out = new float[flat.length / d][d];
      for (int i = 0; i < out.length; i++) {
        System.arraycopy(flat, i * d, out[i], 0, d);
      }
      return out;
    }
  }

  /** The unbiased MMD² of one subset holding all rows, written out in Java (float64). */
  private static double mmdAllRows(float[][] f1, float[][] f2) {
    int m = f1.length;
    int d = f1[0].length;
    double a = 0;
    double diag = 0;
    double b = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        double kxx = Math.pow(dot(f2[i], f2[j]) / d + 1, 3);
        double kyy = Math.pow(dot(f1[i], f1[j]) / d + 1, 3);
        a += kxx + kyy;
        diag += i == j ? kxx + kyy : 0;
        b += Math.pow(dot(f2[i], f1[j]) / d + 1, 3);
      }
    }
    return ((a - diag) / (m - 1) - b * 2 / m) / m;
  }

  private static double dot(float[] u, float[] v) {
    double s = 0;
    for (int k = 0; k < u.length; k++) {
      s += (double) u[k] * v[k];
    }
    return s;
  }

  @Test
  void kidOfTheGoldenFeaturesMatchesCleanFid() {
    JsonNode golden =
        ClassifierFixture.goldenJson(InceptionFeaturesTest.DIR.resolve("golden.json"));
    float[][] a = goldenFeatures("a");
    float[][] b = goldenFeatures("b");
    try (NDManager m = Torch.newManager()) {
      KernelDistance.Result r = KernelDistance.of(a, b, m);
      assertTrue(r.exact(), "7 and 7 rows: every subset is all rows");
      assertEquals(7, r.subsetSize());
      double kid = golden.get("kid").asDouble();
      double rel = Math.abs(r.kid() - kid) / kid;
      assertTrue(rel <= KID_REL, "KID relative diff to clean-fid " + rel);
      double kid64 = golden.get("kid_float64_single_subset").asDouble();
      assertEquals(kid64, r.kid(), 1e-12 * kid64, "the reference's float64 value");
      assertEquals(mmdAllRows(a, b), r.kid(), 1e-12 * kid64, "the formula written out");
    }
  }

  @Test
  void largerSetsAreSampledReproduciblyBySeed() {
    Random rng = new Random(5);
    float[][] a = new float[30][6];
    float[][] b = new float[40][6];
    for (float[][] s : new float[][][] {a, b}) {
      for (float[] row : s) {
        for (int j = 0; j < row.length; j++) {
          row[j] = (float) Math.abs(rng.nextGaussian()) + (s == b ? 0.3f : 0f);
        }
      }
    }
    KernelDistance.Settings s0 = new KernelDistance.Settings(20, 10, 0);
    try (NDManager m = Torch.newManager()) {
      KernelDistance.Result r = KernelDistance.of(a, b, s0, m);
      assertEquals(10, r.subsetSize());
      assertTrue(!r.exact());
      assertEquals(r.kid(), KernelDistance.of(a, b, s0, m).kid(), "same seed, same subsets");
      double other = KernelDistance.of(a, b, new KernelDistance.Settings(20, 10, 1), m).kid();
      assertNotEquals(r.kid(), other, "another seed draws other subsets");
      // all rows in every subset: the average over subsets is the full-set estimate
      float[][] a30 = java.util.Arrays.copyOf(b, 30);
      KernelDistance.Result full =
          KernelDistance.of(a, a30, new KernelDistance.Settings(100, 1000, 0), m);
      assertTrue(full.exact());
      assertEquals(mmdAllRows(a, a30), full.kid(), 1e-12);
    }
  }

  @Test
  void badSetsAreBadInput() {
    try (NDManager m = Torch.newManager()) {
      assertThrows(
          BadInputException.class,
          () -> KernelDistance.of(new float[][] {{1}}, new float[][] {{1}, {2}}, m));
      assertThrows(
          BadInputException.class,
          () -> KernelDistance.of(new float[][] {{1, 2}, {2}}, new float[][] {{1}, {2}}, m));
      assertThrows(BadInputException.class, () -> new KernelDistance.Settings(0, 1000, 0));
    }
  }
}

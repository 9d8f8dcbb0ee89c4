package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.SafeTensors;
import dev.perase.io.TensorInfo;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Fréchet distance against the golden values of pytorch-fid / clean-fid in the fixture's {@code
 * reference/fid.safetensors} (float64 feature sets) and {@code index.json → fid}.
 */
class FrechetDistanceTest {
  private static Map<String, double[][]> sets;
  private static Map<String, Double> goldens;
  private static JsonNode cases;

  @BeforeAll
  static void readFixture() throws IOException {
    sets = new HashMap<>();
    goldens = new HashMap<>();
    try (SafeTensors st = SafeTensors.open(Fixtures.reference("fid.safetensors"))) {
      for (String key : st.keys()) {
        TensorInfo info = st.info(key);
        assertEquals(DType.F64, info.dtype());
        double[] v = st.doubles(key);
        if (info.shape().length == 1) {
          goldens.put(key, v[0]);
        } else {
          int n = (int) info.shape()[0];
          int d = (int) info.shape()[1];
          double[][] x = new double[n][d];
          for (int i = 0; i < n; i++) {
            System.arraycopy(v, i * d, x[i], 0, d);
          }
          sets.put(key, x);
        }
      }
    }
    ObjectMapper json = new ObjectMapper();
    cases = json.readTree(Fixtures.reference("index.json").toFile()).get("fid").get("cases");
  }

  /** Runs one fixture case; asserts each term and the distance within {@code rel}. */
  private static FrechetDistance.Result check(String name, double rel) {
    JsonNode c = cases.get(name);
    FrechetDistance.Result r =
        FrechetDistance.of(
            sets.get(c.get("sets").get(0).asText()), sets.get(c.get("sets").get(1).asText()));
    double golden = goldens.get(name + ".fid");
    assertEquals(c.get("fid").asDouble(), golden, 0, "index.json and the safetensors agree");
    double err = Math.abs(r.distance() - golden) / golden;
    assertTrue(err <= rel, name + ": relative error " + err + " > " + rel);
    assertEquals(c.get("mean_term").asDouble(), r.meanTerm(), 1e-12 * r.meanTerm(), "mean term");
    assertEquals(c.get("trace_sigma1").asDouble(), r.traceSigma1(), 1e-12 * r.traceSigma1());
    assertEquals(c.get("trace_sigma2").asDouble(), r.traceSigma2(), 1e-12 * r.traceSigma2());
    assertEquals(c.get("eps_offset_used").asBoolean(), r.offsetUsed(), "ε offset taken");
    return r;
  }

  @Test
  void fullRankSetsMatchPytorchFid() {
    check("full", Fixtures.FRECHET_REL);
  }

  @Test
  void rankDeficientSetMatchesPytorchFid() {
    check("rank_deficient", Fixtures.FRECHET_REL);
  }

  @Test
  void singularProductTakesTheEpsOffsetAsPytorchFid() {
    check("singular_product", Fixtures.FRECHET_SINGULAR_REL);
  }

  @Test
  void distanceOfASetToItselfIsZeroAndSymmetric() {
    double[][] a = sets.get("set_a");
    double[][] b = sets.get("set_b");
    assertEquals(0, FrechetDistance.of(a, a).distance(), 1e-9);
    assertEquals(FrechetDistance.of(a, b).distance(), FrechetDistance.of(b, a).distance(), 1e-9);
  }

  @Test
  void oneDimensionalCaseIsTheClosedForm() {
    // d = (μ₁−μ₂)² + (σ₁ − σ₂)² in one dimension
    double[][] x = {{1}, {2}, {4}};
    double[][] y = {{0}, {3}};
    double var1 = (16.0 / 9 + 1.0 / 9 + 25.0 / 9) / 2; // mean 7/3
    double var2 = 4.5;
    double expected = Math.pow(7.0 / 3 - 1.5, 2) + Math.pow(Math.sqrt(var1) - Math.sqrt(var2), 2);
    assertEquals(expected, FrechetDistance.of(x, y).distance(), 1e-12);
  }

  @Test
  void aFeatureConstantInBothSetsNeedsNoOffset() {
    Random rng = new Random(3);
    double[][] x = new double[30][4];
    double[][] y = new double[25][4];
    for (double[][] s : new double[][][] {x, y}) {
      for (double[] row : s) {
        for (int j = 0; j < 4; j++) {
          row[j] = j == 2 ? 0.1 : rng.nextGaussian();
        }
      }
    }
    FrechetDistance.Result r = FrechetDistance.of(x, y);
    assertFalse(r.offsetUsed());
    assertTrue(Double.isFinite(r.distance()) && r.distance() > 0);
  }

  @Test
  void sqrtmFailsOnlyWhenOneOfItsBlocksHoldsBothIsolatedZeros() {
    // 64 features: one block, so a feature constant in set 1 only and one in set 2 only fail
    boolean[] c1 = new boolean[64];
    boolean[] c2 = new boolean[64];
    c1[0] = true;
    assertFalse(FrechetDistance.sqrtmFails(c1, c2), "constant in one set only");
    c2[1] = true;
    assertTrue(FrechetDistance.sqrtmFails(c1, c2));
    c1[0] = c2[0] = true;
    assertFalse(FrechetDistance.sqrtmFails(c1, c2), "constant in both and in set 2 only");
    // 2048 features: 32 blocks of 64; the isolated ends meet in one block only when at most a
    // block's worth of features lies between them
    c1 = new boolean[2048];
    c2 = new boolean[2048];
    for (int j = 0; j < 1000; j++) {
      c1[j] = true;
    }
    for (int j = 1000; j < 2000; j++) {
      c2[j] = true;
    }
    assertFalse(FrechetDistance.sqrtmFails(c1, c2), "48 free features span two blocks");
    for (int j = 2000; j < 2040; j++) {
      c2[j] = true;
    }
    assertTrue(FrechetDistance.sqrtmFails(c1, c2), "8 free features, inside one block");
    assertEquals(0, FrechetDistance.sqrtmBlock(63, 2048));
    assertEquals(31, FrechetDistance.sqrtmBlock(2047, 2048));
    assertEquals(1, FrechetDistance.sqrtmBlock(65, 130), "130 = 2 blocks of 65");
  }

  @Test
  void badSetsAreBadInput() {
    assertThrows(
        BadInputException.class,
        () -> FrechetDistance.of(new double[][] {{1}}, new double[][] {{1}, {2}}));
    assertThrows(
        BadInputException.class,
        () -> FrechetDistance.of(new double[][] {{1, 2}, {2, 3}}, new double[][] {{1}, {2}}));
    assertThrows(
        BadInputException.class,
        () -> FrechetDistance.of(new double[][] {{1}, {Double.NaN}}, new double[][] {{1}, {2}}));
  }

  @Test
  void symmetricEigenReconstructsTheMatrix() {
    Random rng = new Random(11);
    int n = 40;
    double[][] a = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        a[i][j] = a[j][i] = rng.nextGaussian();
      }
    }
    a[5][5] = 0; // an exact zero row and column
    for (int j = 0; j < n; j++) {
      a[5][j] = a[j][5] = 0;
    }
    SymmetricEigen e = SymmetricEigen.of(a, true);
    double[][] v = e.vectors();
    double worst = 0;
    double worstOrtho = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        double o = 0;
        for (int k = 0; k < n; k++) {
          s += v[i][k] * e.values()[k] * v[j][k];
          o += v[k][i] * v[k][j];
        }
        worst = Math.max(worst, Math.abs(s - a[i][j]));
        worstOrtho = Math.max(worstOrtho, Math.abs(o - (i == j ? 1 : 0)));
      }
    }
    for (int k = 1; k < n; k++) {
      assertTrue(e.values()[k - 1] <= e.values()[k], "ascending");
    }
    assertTrue(worst < 1e-12, "V Λ Vᵀ − A: " + worst);
    assertTrue(worstOrtho < 1e-12, "Vᵀ V − I: " + worstOrtho);
    double[] valuesOnly = SymmetricEigen.of(a, false).values();
    for (int k = 0; k < n; k++) {
      assertEquals(e.values()[k], valuesOnly[k], 1e-12);
    }
  }
}

package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import org.junit.jupiter.api.Test;

/** FID as clean-fid computes it, on the detector fixture (7 + 7 images, 2048 features). */
class CleanFidTest {
  private static double[][] toDouble(float[][] f) {
    double[][] out = new double[f.length][];
    for (int i = 0; i < f.length; i++) {
      out[i] = new double[f[i].length];
      for (int j = 0; j < f[i].length; j++) {
        out[i][j] = f[i][j];
      }
    }
    return out;
  }

  /**
   * FID relative to the README's exact route (the 7 × 7 eigenproblem of the centred features).
   * Reached: 1.9e-13; to clean-fid's scipy value ({@link Fixtures#FRECHET_REL}): 2.0e-6.
   */
  static final double FID_EXACT_REL = 1e-10;

  @Test
  void fidOfTheGoldenFeaturesIsTheExactRouteWithoutOffset() {
    JsonNode golden =
        ClassifierFixture.goldenJson(InceptionFeaturesTest.DIR.resolve("golden.json"));
    FrechetDistance.Result r =
        FrechetDistance.of(
            toDouble(KernelDistanceTest.goldenFeatures("a")),
            toDouble(KernelDistanceTest.goldenFeatures("b")));
    assertFalse(r.offsetUsed(), "clean-fid's sqrtm does not fail here: no ε offset");
    double exact = golden.get("fid_eigen_route").asDouble();
    assertEquals(exact, r.distance(), FID_EXACT_REL * exact, "the exact route");
    double scipy = golden.get("fid").asDouble();
    assertEquals(scipy, r.distance(), Fixtures.FRECHET_REL * scipy, "clean-fid's value");
    JsonNode terms = golden.get("fid_terms");
    assertEquals(terms.get("mean_term").asDouble(), r.meanTerm(), 1e-12 * r.meanTerm());
    assertEquals(terms.get("trace1").asDouble(), r.traceSigma1(), 1e-12 * r.traceSigma1());
    assertEquals(terms.get("trace2").asDouble(), r.traceSigma2(), 1e-12 * r.traceSigma2());
    assertEquals(
        terms.get("trace_sqrt").asDouble(), r.traceCovmean(), FID_EXACT_REL * r.traceCovmean());
  }
}

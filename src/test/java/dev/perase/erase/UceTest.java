package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.eval.ModelEdit;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * UCE's closed form against a direct least-squares solution (Householder QR of the stacked,
 * weighted rows, no normal equations), and the edit of the world model: it moves the concept's
 * key/value outputs onto the guide's, keeps the preserved ones, touches nothing else, and loads
 * back through {@code --weights}.
 */
class UceTest {
  static final Path WORLD = Fixtures.world();

  @TempDir Path tmp;

  @Test
  void closedFormEqualsLeastSquaresSolvedByQr() {
    Random r = new Random(7);
    // fewer rows than dimensions (λ decides the rest) and more rows than dimensions
    for (int[] sizes : new int[][] {{5, 9, 3, 2}, {4, 6, 5, 8}}) {
      int out = sizes[0];
      int d = sizes[1];
      double[][] w = gaussian(r, out, d);
      Uce.Rows rows =
          new Uce.Rows(
              gaussian(r, sizes[2], d), gaussian(r, sizes[2], d), gaussian(r, sizes[3], d));
      for (double[] scales : new double[][] {{1, 1, 0.5}, {1.7, 0.3, 0.05}}) {
        double[][] closed = Uce.edit(w, rows, scales[0], scales[1], scales[2]);
        double[][] direct = leastSquares(w, rows, scales[0], scales[1], scales[2]);
        double worst = 0;
        double scale = 0;
        for (int o = 0; o < out; o++) {
          for (int a = 0; a < d; a++) {
            worst = Math.max(worst, Math.abs(closed[o][a] - direct[o][a]));
            scale = Math.max(scale, Math.abs(direct[o][a]));
          }
        }
        assertTrue(worst <= 1e-6 * scale, "closed form vs QR: " + worst + " of " + scale);
        // and the edit is not the identity: the erased rows moved
        assertTrue(maxDiff(closed, w) > 1e-3, "the edit should change W");
      }
    }
  }

  @Test
  void choleskyRefusesAMatrixThatIsNotPositiveDefinite() {
    double[][] a = {{1, 2}, {2, 1}}; // eigenvalues 3 and −1
    assertThrows(
        IllegalArgumentException.class, () -> Cholesky.solve(a, new double[][] {{1}, {1}}));
    double[][] x = Cholesky.solve(new double[][] {{4, 2}, {2, 3}}, new double[][] {{2}, {1}});
    assertEquals(0.5, x[0][0], 1e-12); // 4·0.5 + 2·0 = 2, 2·0.5 + 3·0 = 1
    assertEquals(0.0, x[1][0], 1e-12);
  }

  @Test
  void worldEditMovesTheConceptOntoTheGuideAndLoadsThroughWeights() throws IOException {
    Path out = tmp.resolve("uce");
    UceSettings s =
        UceSettings.defaults("by Vortex")
            .withGuide("by Solano")
            .withPreserve(UceSettings.parsePreserve("by Pointel; a circle"));
    Map<String, float[]> before = new LinkedHashMap<>();
    Map<String, float[]> after = new LinkedHashMap<>();
    Uce.Rows rows;
    String hash;
    try (StableDiffusion sd = StableDiffusion.load(WORLD);
        NDManager m = Torch.newManager()) {
      hash = sd.layout().modelHash();
      for (Param p : sd.unet().params().named().values()) {
        before.put(p.name(), p.value().toFloatArray());
      }
      rows = Uce.rows(sd, s, m);
      Erasure e = Uce.run(sd, s, out);
      assertTrue(e.wallSeconds() > 0);
      for (Param p : sd.unet().params().named().values()) {
        after.put(p.name(), p.value().toFloatArray());
      }
    }
    // "by Vortex" = [start, by, vortex…, end, …]: rows from its last word token on, aligned with
    // "by Solano"'s; all L rows of each preserved concept (L = the world's 32-token context)
    int len = dev.perase.world.WorldTokenizerBuilder.MAX_LENGTH;
    assertTrue(
        rows.erased().length >= len - 7 && rows.erased().length <= len - 2,
        "" + rows.erased().length);
    assertEquals(2 * len, rows.preserved().length);

    Set<String> edited = new HashSet<>();
    for (String k : before.keySet()) {
      if (k.matches(".*attn2\\.to_[kv]\\.weight")) {
        edited.add(k);
        int outDim = before.get(k).length / rows.erased()[0].length;
        double[][] wOld = matrix(before.get(k), outDim);
        double[][] wNew = matrix(after.get(k), outDim);
        // the concept's outputs move towards the guide's: ‖W c − W_old g‖ shrinks
        double moved = 0;
        double was = 0;
        for (int i = 0; i < rows.erased().length; i++) {
          double[] target = times(wOld, rows.guides()[i]);
          was += squaredDistance(times(wOld, rows.erased()[i]), target);
          moved += squaredDistance(times(wNew, rows.erased()[i]), target);
        }
        assertTrue(moved < 0.25 * was, k + ": " + moved + " vs " + was);
        // preserved outputs stay close: far less change than the concept's
        double kept = 0;
        for (double[] c : rows.preserved()) {
          kept += squaredDistance(times(wNew, c), times(wOld, c));
        }
        assertTrue(
            kept / rows.preserved().length < 0.1 * was / rows.erased().length,
            k + ": preserved change " + kept);
      } else {
        assertTrue(java.util.Arrays.equals(before.get(k), after.get(k)), k + " changed");
      }
    }
    long crossAttentions =
        before.keySet().stream().filter(k -> k.endsWith("attn2.to_q.weight")).count();
    assertEquals(2 * crossAttentions, edited.size(), "to_k and to_v of every cross attention");

    try (SafeTensors w = SafeTensors.open(out.resolve("weights.safetensors"))) {
      assertEquals(edited, new HashSet<>(w.keys()));
      assertEquals("uce", w.metadata().get("method"));
      assertEquals(hash, w.metadata().get("base_model_hash"));
    }
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals("uce", config.get("method").asText());
    assertTrue(config.get("result").get("wall_seconds").asDouble() > 0);
    assertEquals(
        List.of("by Pointel", "a circle"),
        List.of(
            config.get("settings").get("preserve").get(0).asText(),
            config.get("settings").get("preserve").get(1).asText()));

    // the file puts the edited tensors on a fresh base model, and closing the edit restores it
    try (StableDiffusion sd = StableDiffusion.load(WORLD)) {
      try (ModelEdit edit = ModelEdit.weights(sd.unet().params(), hash, out.resolve(OUTPUT))) {
        assertEquals(edited.size(), edit.replacedCount());
        for (String k : edited) {
          assertTrue(
              java.util.Arrays.equals(
                  after.get(k), sd.unet().params().get(k).value().toFloatArray()),
              k);
        }
      }
      for (String k : edited) {
        assertTrue(
            java.util.Arrays.equals(
                before.get(k), sd.unet().params().get(k).value().toFloatArray()),
            k);
      }
    }
    // a second edit into the same folder is refused
    try (StableDiffusion sd = StableDiffusion.load(WORLD)) {
      assertThrows(dev.perase.io.BadInputException.class, () -> Uce.run(sd, s, out));
    }
    assertTrue(Files.exists(out.resolve("weights.safetensors")));
  }

  private static final String OUTPUT = "weights.safetensors";

  /**
   * Row by row, min ‖A wᵀ − b‖² with A = [√e c_iᵀ; √p c_jᵀ; √λ I] and b = [√e (W g_i)_o; √p (W
   * c_j)_o; √λ W_o], solved by Householder QR of A.
   */
  static double[][] leastSquares(double[][] w, Uce.Rows rows, double e, double p, double lambda) {
    int d = w[0].length;
    int n = rows.erased().length + rows.preserved().length + d;
    double[][] a = new double[n][];
    int i = 0;
    for (double[] c : rows.erased()) {
      a[i++] = scaled(c, Math.sqrt(e));
    }
    for (double[] c : rows.preserved()) {
      a[i++] = scaled(c, Math.sqrt(p));
    }
    for (int k = 0; k < d; k++) {
      a[i] = new double[d];
      a[i++][k] = Math.sqrt(lambda);
    }
    double[][] out = new double[w.length][];
    for (int o = 0; o < w.length; o++) {
      double[] b = new double[n];
      int j = 0;
      for (double[] g : rows.guides()) {
        b[j++] = Math.sqrt(e) * dot(w[o], g);
      }
      for (double[] c : rows.preserved()) {
        b[j++] = Math.sqrt(p) * dot(w[o], c);
      }
      for (int k = 0; k < d; k++) {
        b[j++] = Math.sqrt(lambda) * w[o][k];
      }
      out[o] = qrSolve(a, b);
    }
    return out;
  }

  /** Least squares by Householder QR: R x = (Qᵀ b)[0:d]. */
  static double[] qrSolve(double[][] a0, double[] b0) {
    int n = a0.length;
    int d = a0[0].length;
    double[][] a = new double[n][];
    for (int i = 0; i < n; i++) {
      a[i] = a0[i].clone();
    }
    double[] b = b0.clone();
    for (int k = 0; k < d; k++) {
      double norm = 0;
      for (int i = k; i < n; i++) {
        norm += a[i][k] * a[i][k];
      }
      norm = Math.sqrt(norm);
      double alpha = a[k][k] > 0 ? -norm : norm;
      double[] v = new double[n];
      for (int i = k; i < n; i++) {
        v[i] = a[i][k];
      }
      v[k] -= alpha;
      double vv = 0;
      for (int i = k; i < n; i++) {
        vv += v[i] * v[i];
      }
      if (vv == 0) {
        continue;
      }
      for (int j = k; j < d; j++) {
        double s = 0;
        for (int i = k; i < n; i++) {
          s += v[i] * a[i][j];
        }
        s = 2 * s / vv;
        for (int i = k; i < n; i++) {
          a[i][j] -= s * v[i];
        }
      }
      double s = 0;
      for (int i = k; i < n; i++) {
        s += v[i] * b[i];
      }
      s = 2 * s / vv;
      for (int i = k; i < n; i++) {
        b[i] -= s * v[i];
      }
    }
    double[] x = new double[d];
    for (int k = d - 1; k >= 0; k--) {
      double s = b[k];
      for (int j = k + 1; j < d; j++) {
        s -= a[k][j] * x[j];
      }
      x[k] = s / a[k][k];
    }
    return x;
  }

  private static double[][] gaussian(Random r, int rows, int cols) {
    double[][] m = new double[rows][cols];
    for (double[] row : m) {
      for (int j = 0; j < cols; j++) {
        row[j] = r.nextGaussian();
      }
    }
    return m;
  }

  private static double[] scaled(double[] x, double s) {
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = s * x[i];
    }
    return y;
  }

  private static double dot(double[] x, double[] y) {
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      s += x[i] * y[i];
    }
    return s;
  }

  private static double[] times(double[][] w, double[] c) {
    double[] y = new double[w.length];
    for (int o = 0; o < w.length; o++) {
      y[o] = dot(w[o], c);
    }
    return y;
  }

  private static double squaredDistance(double[] x, double[] y) {
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      s += (x[i] - y[i]) * (x[i] - y[i]);
    }
    return s;
  }

  private static double maxDiff(double[][] a, double[][] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[0].length; j++) {
        m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
      }
    }
    return m;
  }

  private static double[][] matrix(float[] flat, int rows) {
    int cols = flat.length / rows;
    double[][] m = new double[rows][cols];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        m[i][j] = flat[i * cols + j];
      }
    }
    return m;
  }
}

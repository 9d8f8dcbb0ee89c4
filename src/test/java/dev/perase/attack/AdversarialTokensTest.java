package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.tensor.Torch;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The relaxed rows without a model: the update is {@code torch.optim.Adam} with L2 weight decay
 * followed by the simplex projection (checked against the formulas in double), the sampled input is
 * a one-hot of allowed tokens whose gradient reaches the rows clipped to [−1, 1], and the special
 * tokens and a word's tokens are excluded.
 */
class AdversarialTokensTest {
  private static final double LR = 0.01;
  private static final double WD = 0.1;

  /** torch.optim.Adam(lr, weight_decay) then projection, on rows p with gradients g, in double. */
  private static final class Reference {
    final double[][] p;
    final double[][] m;
    final double[][] v;
    int step;

    Reference(int k, boolean[] allowed) {
      int n = 0;
      for (boolean a : allowed) {
        n += a ? 1 : 0;
      }
      p = new double[k][allowed.length];
      m = new double[k][allowed.length];
      v = new double[k][allowed.length];
      for (double[] row : p) {
        for (int j = 0; j < row.length; j++) {
          row[j] = allowed[j] ? 1.0 / n : 0;
        }
      }
    }

    void update(double[][] grad, boolean[] allowed) {
      step++;
      double b1 = 1 - Math.pow(0.9, step);
      double b2 = 1 - Math.pow(0.999, step);
      for (int r = 0; r < p.length; r++) {
        float[] next = new float[p[r].length];
        for (int j = 0; j < p[r].length; j++) {
          double g = grad[r][j] + WD * p[r][j];
          m[r][j] = 0.9 * m[r][j] + 0.1 * g;
          v[r][j] = 0.999 * v[r][j] + 0.001 * g * g;
          double denom = Math.sqrt(v[r][j]) / Math.sqrt(b2) + 1e-8;
          next[j] = (float) (p[r][j] - LR / b1 * m[r][j] / denom);
        }
        SimplexProjection.project(next, allowed);
        for (int j = 0; j < next.length; j++) {
          p[r][j] = next[j];
        }
      }
    }
  }

  @Test
  void softUpdatesAreAdamWithL2DecayThenTheProjection() {
    int k = 2;
    int vocab = 7;
    boolean[] allowed = {false, true, true, true, true, true, true};
    SplittableRandom rng = new SplittableRandom(3);
    float[] c = new float[k * vocab];
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) (rng.nextDouble() * 4 - 2);
    }
    Reference ref = new Reference(k, allowed);
    try (NDManager m = Torch.newManager()) {
      AdversarialTokens t = new AdversarialTokens(k, allowed, Relaxation.SOFT, LR, WD, m);
      NDArray cost = m.create(c).reshape(k, vocab);
      for (int step = 0; step < 5; step++) {
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          NDArray x = t.input(0, m);
          gc.backward(x.mul(cost).sum()); // ∂L/∂p = c
        }
        t.update();
        double[][] g = new double[k][vocab];
        for (int r = 0; r < k; r++) {
          for (int j = 0; j < vocab; j++) {
            g[r][j] = c[r * vocab + j];
          }
        }
        ref.update(g, allowed);
        float[][] rows = t.rowValues();
        for (int r = 0; r < k; r++) {
          for (int j = 0; j < vocab; j++) {
            assertEquals(
                ref.p[r][j], rows[r][j], 1e-6, "step " + step + " p[" + r + "][" + j + "]");
          }
        }
      }
      // the cheapest allowed token per row wins the argmax
      long[] ids = t.tokenIds();
      for (int r = 0; r < k; r++) {
        int best = 1;
        for (int j = 1; j < vocab; j++) {
          if (c[r * vocab + j] < c[r * vocab + best]) {
            best = j;
          }
        }
        assertEquals(best, ids[r], "row " + r);
      }
    }
  }

  @Test
  void sampledInputIsAOneHotOfAllowedTokensWithAClippedStraightThroughGradient() {
    int k = 3;
    int vocab = 5;
    boolean[] allowed = {true, false, true, true, true};
    float[] c = {3f, -0.5f, -4f, 0.25f, 2f}; // per token, same for every row
    Reference ref = new Reference(k, allowed);
    try (NDManager m = Torch.newManager()) {
      AdversarialTokens t = new AdversarialTokens(k, allowed, Relaxation.SAMPLED, LR, WD, m);
      NDArray cost = m.create(c).reshape(1, vocab);
      for (int step = 0; step < 4; step++) {
        float[][] before = t.rowValues();
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          NDArray x = t.input(Seeds.derive(9, Seeds.SAMPLE, 0, step), m);
          float[] h = x.toFloatArray();
          for (int r = 0; r < k; r++) {
            int ones = 0;
            for (int j = 0; j < vocab; j++) {
              float hj = h[r * vocab + j];
              assertTrue(hj == 0f || hj == 1f, "one-hot value " + hj);
              if (hj == 1f) {
                ones++;
                assertTrue(allowed[j] && before[r][j] > 0, "drawn token " + j);
              }
            }
            assertEquals(1, ones);
          }
          gc.backward(x.mul(cost).sum()); // ∂L/∂h = c, passed to p clipped: (1, −0.5, −1, .25, 1)
        }
        t.update();
        double[][] g = new double[k][vocab];
        for (int r = 0; r < k; r++) {
          for (int j = 0; j < vocab; j++) {
            g[r][j] = Math.max(-1, Math.min(1, c[j]));
          }
        }
        ref.update(g, allowed);
        float[][] rows = t.rowValues();
        for (int r = 0; r < k; r++) {
          for (int j = 0; j < vocab; j++) {
            assertEquals(ref.p[r][j], rows[r][j], 1e-6, "step " + step);
          }
        }
      }
    }
  }

  @Test
  void specialTokensAndTheWordsTokensAreExcluded() {
    CLIPTokenizer tok = CLIPTokenizer.load(Fixtures.tinySd().resolve("tokenizer"));
    List<Long> none = AdversarialTokens.excludedIds(tok, List.of());
    assertEquals(List.of(tok.bosId(), tok.eosId()), none); // pad = end token in SD's tokenizer
    boolean[] allowed = AdversarialTokens.allowedTokens(tok, List.of("cat", "blood-red"));
    long cat = tok.idOf("cat</w>");
    assertFalse(allowed[(int) cat]);
    assertFalse(allowed[(int) tok.idOf("cat")], "the word-inner form");
    assertFalse(allowed[(int) tok.idOf("blood</w>")]);
    assertFalse(allowed[(int) tok.idOf("red</w>")]);
    assertTrue(allowed[(int) tok.idOf("-</w>")], "punctuation stays allowed");
    assertTrue(allowed[(int) tok.idOf("dog</w>")]);
    assertFalse(allowed[(int) tok.bosId()]);
    assertFalse(allowed[(int) tok.eosId()]);
    int excluded = 0;
    for (boolean a : allowed) {
      excluded += a ? 0 : 1;
    }
    assertEquals(AdversarialTokens.excludedIds(tok, List.of("cat", "blood-red")).size(), excluded);
  }
}

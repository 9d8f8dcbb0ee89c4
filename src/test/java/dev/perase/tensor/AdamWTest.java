package dev.perase.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {
  /** Tolerances of the fixture's README for s after steps 1, 10 and 100. */
  private static final double[] TOL = {3e-6, 1e-4, 4e-4};

  /**
   * The golden trace of torch.optim.AdamW (lr 0.1, wd 0.01) on soft-mask logits: loss = Σ_k ‖(W_k ⊙
   * σ(10 s_k)) x_k − y_k‖², s₀ = 1.
   */
  @Test
  void adamwMatchesTorchGoldenTrace() {
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("adamw.safetensors"));
        NDManager m = Torch.newManager()) {
      NDArray[] w = new NDArray[2];
      NDArray[] x = new NDArray[2];
      NDArray[] y = new NDArray[2];
      NDArray[] s = new NDArray[2];
      for (int k = 0; k < 2; k++) {
        w[k] = ref.load("p" + k + ".W", m);
        x[k] = ref.load("p" + k + ".x", m);
        y[k] = ref.load("p" + k + ".y", m);
        s[k] = ref.load("p" + k + ".s0", m);
        s[k].setRequiresGradient(true);
      }
      AdamW opt = new AdamW(List.of(s[0], s[1]), m, 0.1, 0.9, 0.999, 1e-8, 0.01);
      float[] losses = ref.floats("loss");
      for (int step = 1; step <= 100; step++) {
        try (NDManager sub = m.newSubManager()) {
          for (int k = 0; k < 2; k++) {
            sub.tempAttachAll(w[k], x[k], y[k], s[k]);
          }
          float loss;
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray total = null;
            for (int k = 0; k < 2; k++) {
              NDArray masked = w[k].mul(Activation.sigmoid(s[k].mul(10f)));
              NDArray r = masked.matMul(x[k]).sub(y[k]);
              NDArray l = r.mul(r).sum();
              total = total == null ? l : total.add(l);
            }
            loss = total.getFloat();
            gc.backward(total);
          }
          assertEquals(losses[step - 1], loss, 2e-4 * Math.abs(losses[step - 1]), "loss " + step);
          if (step == 1) {
            for (int k = 0; k < 2; k++) {
              NDArray g = ref.load("p" + k + ".grad_step1", sub);
              Fixtures.assertClose(g, s[k].getGradient(), 1e-5 * Fixtures.maxAbs(g), "grad step 1");
            }
          }
          opt.step();
          opt.zeroGrad();
          int tolIndex = step == 1 ? 0 : step == 10 ? 1 : step == 100 ? 2 : -1;
          if (tolIndex >= 0 || step == 2) {
            double tol = step == 2 ? TOL[0] * 2 : TOL[tolIndex];
            for (int k = 0; k < 2; k++) {
              NDArray e = ref.load("p" + k + ".s_step" + step, sub);
              double d = Fixtures.maxAbsDiff(e, s[k]);
              System.out.printf("adamw step %d p%d max|Δs| = %.3g%n", step, k, d);
              assertTrue(d <= tol, "s after step " + step + ": " + d + " > " + tol);
            }
          }
        }
      }
    }
  }
}

package dev.perase.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * {@code torch.optim.AdamW} (single-tensor CPU path, amsgrad off), written on NDArrays because
 * DJL's own AdamW places epsilon differently. Per step t (1-based), with python-float scalars:
 *
 * <pre>
 *   θ ← θ·(1 − lr·λ)                       decoupled weight decay (Loshchilov & Hutter)
 *   m ← β₁ m + (1 − β₁) g
 *   v ← β₂ v + (1 − β₂) g²
 *   θ ← θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
 * </pre>
 *
 * The state (m, v) lives in the manager given at construction; updates are in place, outside any
 * gradient recording.
 */
public final class AdamW {
  private final List<NDArray> params;
  private final List<NDArray> expAvg = new ArrayList<>();
  private final List<NDArray> expAvgSq = new ArrayList<>();
  // python floats in torch: scalars are formed in double and rounded to float32 where they meet a
  // tensor
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private double lr;
  private int step;

  public AdamW(
      List<NDArray> params,
      NDManager stateManager,
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay) {
    this.params = List.copyOf(params);
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    for (NDArray p : this.params) {
      expAvg.add(stateManager.zeros(p.getShape(), p.getDataType()));
      expAvgSq.add(stateManager.zeros(p.getShape(), p.getDataType()));
    }
  }

  /** torch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
  public static AdamW withDefaults(List<NDArray> params, NDManager stateManager, double lr) {
    return new AdamW(params, stateManager, lr, 0.9, 0.999, 1e-8, 0.01);
  }

  public void setLearningRate(double lr) {
    this.lr = lr;
  }

  public double learningRate() {
    return lr;
  }

  public int stepCount() {
    return step;
  }

  public List<NDArray> expAvg() {
    return expAvg;
  }

  public List<NDArray> expAvgSq() {
    return expAvgSq;
  }

  /**
   * Restores the step count (the moment buffers are restored by copying into {@link #expAvg()}).
   */
  public void setStepCount(int step) {
    this.step = step;
  }

  /** One update from the parameters' accumulated gradients ({@code getGradient()}). */
  public void step() {
    step(i -> params.get(i).getGradient());
  }

  /**
   * One update from gradients formed on demand, one parameter at a time (so that they need not all
   * exist at once): {@code gradient.apply(i)} is the gradient of parameter i, closed after use.
   */
  public void step(IntFunction<NDArray> gradient) {
    step++;
    double bias1 = 1 - Math.pow(beta1, step);
    double bias2 = 1 - Math.pow(beta2, step);
    float stepSize = (float) (lr / bias1);
    float bias2Sqrt = (float) Math.sqrt(bias2);
    float decay = (float) (1 - lr * weightDecay);
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float oneMinusB1 = (float) (1 - beta1);
    float oneMinusB2 = (float) (1 - beta2);
    float epsF = (float) eps;
    for (int i = 0; i < params.size(); i++) {
      NDArray p = params.get(i);
      NDArray m = expAvg.get(i);
      NDArray v = expAvgSq.get(i);
      // temporaries are closed here: they land in the gradient's or the state's manager, which
      // outlive the step, so each step would otherwise leak two copies of every parameter
      try (NDArray g = gradient.apply(i);
          NDArray g1 = g.mul(oneMinusB1);
          NDArray g2 = g.mul(oneMinusB2)) {
        p.muli(decay);
        m.muli(b1).addi(g1);
        v.muli(b2).addi(g2.muli(g));
        try (NDArray denom = v.sqrt().divi(bias2Sqrt).addi(epsF);
            NDArray update = m.mul(stepSize).divi(denom)) {
          p.subi(update);
        }
      }
    }
  }

  /** Sets every gradient to zero (DJL accumulates gradients across backward passes). */
  public void zeroGrad() {
    for (NDArray p : params) {
      try (NDArray g = p.getGradient()) {
        g.subi(g);
      }
    }
  }
}

package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;

/** {@code torch.nn.Linear}: y = x Wᵀ + b, with W read through the masking hook. */
public final class Linear {
  public final Param weight;
  public final Param bias;

  private Linear(Param weight, Param bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Loads {@code weight} (out, in) and, when {@code withBias}, {@code bias} (out). */
  public static Linear load(Weights w, long in, long out, boolean withBias) {
    Param weight = w.param("weight", Param.Kind.LINEAR, out, in);
    Param bias = withBias ? w.param("bias", Param.Kind.LINEAR, out) : null;
    return new Linear(weight, bias);
  }

  public static Linear load(Weights w, long in, long out) {
    return load(w, in, out, true);
  }

  /** The masking hook of DESIGN.md §4 for this layer's weight. */
  public NDArray effectiveWeight() {
    return weight.effective();
  }

  public NDArray effectiveBias() {
    return bias == null ? null : bias.effective();
  }

  public NDArray forward(NDArray x) {
    NDArray w = weight.effective();
    NDArray b = effectiveBias();
    try {
      return ai.djl.nn.core.Linear.linear(x, w, b).singletonOrThrow();
    } finally {
      weight.release(w);
      if (bias != null) {
        bias.release(b);
      }
    }
  }

  public long outFeatures() {
    return weight.value().getShape().get(0);
  }
}

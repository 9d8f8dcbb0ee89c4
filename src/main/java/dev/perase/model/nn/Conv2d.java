package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** {@code torch.nn.Conv2d} with square kernels, weight and bias read through the masking hook. */
public final class Conv2d {
  public final Param weight;
  public final Param bias;
  private final Shape stride;
  private final Shape padding;

  private Conv2d(Param weight, Param bias, int stride, int padding) {
    this.weight = weight;
    this.bias = bias;
    this.stride = new Shape(stride, stride);
    this.padding = new Shape(padding, padding);
  }

  /** Loads {@code weight} (out, in, k, k) and {@code bias} (out). */
  public static Conv2d load(Weights w, long in, long out, int kernel, int stride, int padding) {
    Param weight = w.param("weight", Param.Kind.CONV, out, in, kernel, kernel);
    Param bias = w.param("bias", Param.Kind.CONV, out);
    return new Conv2d(weight, bias, stride, padding);
  }

  /** The masking hook of DESIGN.md §4 for this layer's weight. */
  public NDArray effectiveWeight() {
    return weight.effective();
  }

  public NDArray forward(NDArray x) {
    NDArray w = weight.effective();
    NDArray b = bias.effective();
    try {
      return dev.perase.tensor.Ops.conv2d(x, w, b, stride, padding);
    } finally {
      weight.release(w);
      bias.release(b);
    }
  }

  public long outChannels() {
    return weight.value().getShape().get(0);
  }
}

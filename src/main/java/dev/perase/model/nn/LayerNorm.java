package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** {@code torch.nn.LayerNorm} over the last dimension. */
public final class LayerNorm {
  public final Param weight;
  public final Param bias;
  private final float eps;

  private LayerNorm(Param weight, Param bias, float eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
  }

  public static LayerNorm load(Weights w, long dim, float eps) {
    return new LayerNorm(
        w.param("weight", Param.Kind.NORM, dim), w.param("bias", Param.Kind.NORM, dim), eps);
  }

  public NDArray forward(NDArray x) {
    long d = x.getShape().get(x.getShape().dimension() - 1);
    return ai.djl.nn.norm.LayerNorm.layerNorm(
            x, new Shape(d), weight.effective(), bias.effective(), eps)
        .singletonOrThrow();
  }
}

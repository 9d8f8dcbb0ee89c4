package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import dev.perase.tensor.Ops;

/** {@code torch.nn.GroupNorm} with affine weight and bias. */
public final class GroupNorm {
  public final Param weight;
  public final Param bias;
  private final int groups;
  private final float eps;

  private GroupNorm(Param weight, Param bias, int groups, float eps) {
    this.weight = weight;
    this.bias = bias;
    this.groups = groups;
    this.eps = eps;
  }

  public static GroupNorm load(Weights w, int groups, long channels, float eps) {
    if (channels % groups != 0) {
      throw new dev.perase.io.BadInputException(
          w.prefix() + ": " + channels + " channels cannot be split into " + groups + " groups");
    }
    return new GroupNorm(
        w.param("weight", Param.Kind.NORM, channels),
        w.param("bias", Param.Kind.NORM, channels),
        groups,
        eps);
  }

  public NDArray forward(NDArray x) {
    return Ops.groupNorm(x, groups, weight.effective(), bias.effective(), eps);
  }
}

package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code Upsample2D} with a conv: nearest 2× upsampling, then a 3×3 conv (padding 1).
 */
final class Upsample2D {
  final Conv2d conv;

  Upsample2D(Weights w, int channels) {
    conv = Conv2d.load(w.child("conv"), channels, channels, 3, 1, 1);
  }

  /** (B, C, H, W) → (B, C, 2H, 2W). */
  NDArray forward(NDArray input) {
    return Scoped.call(input, x -> conv.forward(Ops.upsampleNearest2x(x)));
  }
}

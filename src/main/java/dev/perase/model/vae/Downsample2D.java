package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.Weights;

/**
 * diffusers' {@code Downsample2D} as the VAE encoder builds it ({@code padding=0}): zero-pad one
 * column on the right and one row at the bottom ({@code F.pad(x, (0, 1, 0, 1))}), then a 3×3
 * stride-2 conv without padding. (B, C, H, W) → (B, C, ⌊H/2⌋, ⌊W/2⌋).
 */
final class Downsample2D {
  // torch's pad order, last dimension first: (W left, W right, H top, H bottom)
  private static final Shape PAD = new Shape(0, 1, 0, 1);

  final Conv2d conv;

  Downsample2D(Weights w, int channels) {
    conv = Conv2d.load(w.child("conv"), channels, channels, 3, 2, 0);
  }

  NDArray forward(NDArray input) {
    return Scoped.call(input, x -> conv.forward(x.pad(PAD, 0)));
  }
}

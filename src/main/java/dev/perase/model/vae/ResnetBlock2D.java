package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code ResnetBlock2D} as the VAE builds it: no time embedding, no dropout at
 * inference, output_scale_factor 1, eps 1e-6. {@code out = shortcut(x) +
 * conv2(SiLU(norm2(conv1(SiLU(norm1(x))))))} with a 1×1 {@code conv_shortcut} when the channel
 * count changes.
 */
final class ResnetBlock2D {
  static final float EPS = 1e-6f;

  final GroupNorm norm1;
  final Conv2d conv1;
  final GroupNorm norm2;
  final Conv2d conv2;
  final Conv2d convShortcut; // null when in == out

  ResnetBlock2D(Weights w, int in, int out, int groups) {
    norm1 = GroupNorm.load(w.child("norm1"), groups, in, EPS);
    conv1 = Conv2d.load(w.child("conv1"), in, out, 3, 1, 1);
    norm2 = GroupNorm.load(w.child("norm2"), groups, out, EPS);
    conv2 = Conv2d.load(w.child("conv2"), out, out, 3, 1, 1);
    convShortcut = in == out ? null : Conv2d.load(w.child("conv_shortcut"), in, out, 1, 1, 0);
  }

  /** (B, in, H, W) → (B, out, H, W). */
  NDArray forward(NDArray input) {
    return Scoped.call(
        input,
        x -> {
          NDArray h = conv1.forward(Ops.silu(norm1.forward(x)));
          h = conv2.forward(Ops.silu(norm2.forward(h)));
          NDArray shortcut = convShortcut == null ? x : convShortcut.forward(x);
          return shortcut.add(h); // (input + hidden) / output_scale_factor, the factor being 1
        });
  }
}

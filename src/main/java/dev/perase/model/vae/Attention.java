package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * The VAE mid-block self-attention: diffusers' {@code Attention} as {@code UNetMidBlock2D} builds
 * it (one head as wide as the channels, {@code group_norm} first, biased projections, residual
 * connection, rescale_output_factor 1). Over the H·W pixels as tokens: {@code out = x +
 * to_out(softmax(q kᵀ / √C) v)} with q, k, v = to_q/to_k/to_v(group_norm(x)).
 */
final class Attention {
  final GroupNorm groupNorm;
  final Linear toQ;
  final Linear toK;
  final Linear toV;
  final Linear toOut;
  private final float scale;

  Attention(Weights w, int channels, int groups) {
    groupNorm = GroupNorm.load(w.child("group_norm"), groups, channels, ResnetBlock2D.EPS);
    toQ = Linear.load(w.child("to_q"), channels, channels);
    toK = Linear.load(w.child("to_k"), channels, channels);
    toV = Linear.load(w.child("to_v"), channels, channels);
    toOut = Linear.load(w.child("to_out").child(0), channels, channels);
    scale = (float) (1.0 / Math.sqrt(channels)); // dim_head ** -0.5 with dim_head = C
  }

  /** (B, C, H, W) → (B, C, H, W). */
  NDArray forward(NDArray input) {
    return Scoped.call(
        input,
        x -> {
          Shape s = x.getShape();
          long b = s.get(0), c = s.get(1), h = s.get(2), w = s.get(3);
          // group norm over (B, C, H, W) equals diffusers' over (B, C, HW)
          NDArray tokens = groupNorm.forward(x).reshape(b, c, h * w).swapAxes(1, 2); // (B, HW, C)
          NDArray q = toQ.forward(tokens).expandDims(1); // (B, 1, HW, C): one head
          NDArray k = toK.forward(tokens).expandDims(1);
          NDArray v = toV.forward(tokens).expandDims(1);
          NDArray a = Ops.attention(q, k, v, scale).squeeze(1); // (B, HW, C)
          NDArray out = toOut.forward(a).swapAxes(1, 2).reshape(b, c, h, w);
          return x.add(out); // residual connection
        });
  }
}

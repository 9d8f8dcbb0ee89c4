package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code Upsample2D} with use_conv: nearest-neighbour upsampling, then a 3×3 conv
 * (padding 1). Normally the map doubles; when the UNet input's sides are not multiples of 2^(number
 * of upsamplers), the UNet passes the skip connection's size ({@code upsample_size}) and the map is
 * resized to exactly that size with torch's "nearest" rule, src = min(⌊dst · in/out⌋, in − 1).
 */
public final class Upsample2D {
  public final String path;
  public final Conv2d conv;

  private Upsample2D(String path, Conv2d conv) {
    this.path = path;
    this.conv = conv;
  }

  public static Upsample2D load(Weights w, int channels, int outChannels) {
    return new Upsample2D(w.prefix(), Conv2d.load(w.child("conv"), channels, outChannels, 3, 1, 1));
  }

  /**
   * @param outputSize {height, width} to resize to, or null for 2×
   */
  public NDArray forward(NDArray hiddenStates, long[] outputSize, Taps taps) {
    if (outputSize == null) {
      hiddenStates = Ops.upsampleNearest2x(hiddenStates);
    } else {
      hiddenStates = interpolateNearest(hiddenStates, outputSize[0], outputSize[1]);
    }
    NDArray out = conv.forward(hiddenStates);
    taps.record(path, out);
    return out;
  }

  /** {@code F.interpolate(x, size=(outH, outW), mode="nearest")} on (N, C, H, W). */
  static NDArray interpolateNearest(NDArray x, long outH, long outW) {
    long h = x.getShape().get(2);
    long w = x.getShape().get(3);
    if (outH == 2 * h && outW == 2 * w) {
      return Ops.upsampleNearest2x(x);
    }
    NDArray rows = x.get(new NDIndex(":, :, {}", sourceIndex(x, h, outH)));
    return rows.get(new NDIndex(":, :, :, {}", sourceIndex(x, w, outW)));
  }

  /**
   * torch's nearest_idx: dst → min(⌊dst · (float) in/out⌋, in − 1), float arithmetic as in ATen.
   */
  private static NDArray sourceIndex(NDArray like, long in, long out) {
    long[] idx = new long[(int) out];
    float scale = (float) in / out;
    for (int i = 0; i < out; i++) {
      if (out == in) {
        idx[i] = i;
      } else if (out == 2 * in) {
        idx[i] = i >> 1;
      } else {
        idx[i] = Math.min((long) Math.floor(i * scale), in - 1);
      }
    }
    return like.getManager().create(idx);
  }
}

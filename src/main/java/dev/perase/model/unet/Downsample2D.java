package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;

/**
 * diffusers' {@code Downsample2D} with use_conv: a 3×3 conv, stride 2, padding 1, so an H×W map
 * becomes ⌈H/2⌉×⌈W/2⌉.
 */
public final class Downsample2D {
  public final String path;
  public final Conv2d conv;

  private Downsample2D(String path, Conv2d conv) {
    this.path = path;
    this.conv = conv;
  }

  public static Downsample2D load(Weights w, int channels, int outChannels, int padding) {
    return new Downsample2D(
        w.prefix(), Conv2d.load(w.child("conv"), channels, outChannels, 3, 2, padding));
  }

  public NDArray forward(NDArray hiddenStates, Taps taps) {
    NDArray out = conv.forward(hiddenStates);
    taps.record(path, out);
    return out;
  }
}

package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import java.util.List;

/** An up block of the UNet: consumes one skip state per resnet, then optionally upsamples. */
public sealed interface UNetUpBlock permits UpBlock2D, CrossAttnUpBlock2D {

  /** Number of resnets, i.e. of skip states this block pops. */
  int numResnets();

  /**
   * @param resHiddenStates the skip states for this block, oldest first (the last one is used
   *     first)
   * @param upsampleSize {height, width} for the upsampler, or null for 2×
   */
  NDArray forward(
      NDArray hiddenStates,
      List<NDArray> resHiddenStates,
      NDArray temb,
      NDArray encoderHiddenStates,
      long[] upsampleSize,
      Taps taps);
}

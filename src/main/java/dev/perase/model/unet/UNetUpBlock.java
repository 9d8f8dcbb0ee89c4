package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import java.util.List;

/**
 * An up block of the UNet: layers that each consume one skip state (concatenated to the hidden
 * states, then a resnet and its transformer where the block has them), then an optional upsampler.
 */
public sealed interface UNetUpBlock permits UpBlock2D, CrossAttnUpBlock2D {

  /** Number of resnets, i.e. of skip states this block pops. */
  int numResnets();

  /** Layer {@code i}: [hidden, skip] along channels, its resnet, then its transformer if any. */
  NDArray layer(
      int i,
      NDArray hiddenStates,
      NDArray resHidden,
      NDArray temb,
      NDArray encoderHiddenStates,
      Taps taps);

  /** The upsampler, or null. */
  Upsample2D upsampler();

  /**
   * @param resHiddenStates the skip states for this block, oldest first (the last one is used
   *     first)
   * @param upsampleSize {height, width} for the upsampler, or null for 2×
   */
  default NDArray forward(
      NDArray hiddenStates,
      List<NDArray> resHiddenStates,
      NDArray temb,
      NDArray encoderHiddenStates,
      long[] upsampleSize,
      Taps taps) {
    int next = resHiddenStates.size() - 1;
    for (int i = 0; i < numResnets(); i++) {
      hiddenStates =
          layer(i, hiddenStates, resHiddenStates.get(next--), temb, encoderHiddenStates, taps);
    }
    if (upsampler() != null) {
      hiddenStates = upsampler().forward(hiddenStates, upsampleSize, taps);
    }
    return hiddenStates;
  }
}

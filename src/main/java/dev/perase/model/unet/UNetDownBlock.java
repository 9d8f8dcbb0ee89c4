package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import java.util.ArrayList;
import java.util.List;

/**
 * A down block of the UNet: layers (a resnet, then its transformer where the block has them), each
 * output pushed as a skip state, then an optional downsampler whose output is a skip too.
 */
public sealed interface UNetDownBlock permits DownBlock2D, CrossAttnDownBlock2D {

  /** The block's output and, in order, every state pushed onto the skip stack. */
  record Output(NDArray hiddenStates, List<NDArray> outputStates) {}

  /** Number of layers (resnets). */
  int numLayers();

  /** Layer {@code i}: its resnet, then its transformer where the block has one. */
  NDArray layer(int i, NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps);

  /** The downsampler, or null. */
  Downsample2D downsampler();

  /** hidden (B, C_in, H, W), temb (B, T), text (B, M, D) (unused by DownBlock2D). */
  default Output forward(
      NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps) {
    List<NDArray> outputStates = new ArrayList<>();
    for (int i = 0; i < numLayers(); i++) {
      hiddenStates = layer(i, hiddenStates, temb, encoderHiddenStates, taps);
      outputStates.add(hiddenStates);
    }
    if (downsampler() != null) {
      hiddenStates = downsampler().forward(hiddenStates, taps);
      outputStates.add(hiddenStates);
    }
    return new Output(hiddenStates, outputStates);
  }
}

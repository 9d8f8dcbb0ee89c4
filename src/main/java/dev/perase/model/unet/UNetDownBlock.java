package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import java.util.List;

/** A down block of the UNet: its output and the states it hands to the up path as skips. */
public sealed interface UNetDownBlock permits DownBlock2D, CrossAttnDownBlock2D {

  /** The block's output and, in order, every state pushed onto the skip stack. */
  record Output(NDArray hiddenStates, List<NDArray> outputStates) {}

  /** hidden (B, C_in, H, W), temb (B, T), text (B, M, D) (unused by DownBlock2D). */
  Output forward(NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps);
}

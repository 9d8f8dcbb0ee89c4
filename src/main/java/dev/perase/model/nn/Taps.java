package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;

/**
 * Activation taps: a model calls {@link #record} with the output of each named module (the
 * diffusers module path, e.g. {@code down_blocks.1.attentions.0.transformer_blocks.0.attn2}) as it
 * runs. The array belongs to the caller's step-scoped manager: a recorder that keeps it past the
 * step must copy it out (or detach it) itself.
 */
@FunctionalInterface
public interface Taps {
  /** Records nothing. */
  Taps NONE = (name, value) -> {};

  void record(String name, NDArray value);
}

package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.ParamSet;
import java.util.function.Supplier;

/**
 * How an objective reaches the frozen original model θ* of Eq. 2 and 3 while training the model
 * being erased: it runs a computation with the original weights in place and restores the trained
 * state after. No second copy of the UNet is ever built.
 *
 * <ul>
 *   <li>mask training: every mask switched off ({@link ParamSet#withMasksOff}), as DESIGN.md §4;
 *   <li>fine-tuning: the original values of the selected tensors swapped in ({@link
 *       OriginalWeights}).
 * </ul>
 */
@FunctionalInterface
public interface FrozenModel {
  /** Runs {@code body} on θ* and returns its result; call it outside gradient recording. */
  NDArray run(Supplier<NDArray> body);

  /** θ* of a masked model: the same weights with every mask switched off. */
  static FrozenModel masksOff(ParamSet params) {
    return params::withMasksOff;
  }
}

package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.model.nn.Param;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * θ* for fine-tuning: a copy of the original values of the selected tensors only (the rest of the
 * UNet is never trained, so it is θ* already). {@link #run} swaps the originals into the {@link
 * Param}s, runs the body and swaps the trained tensors back; the trained arrays themselves (which
 * the optimiser updates in place) are never copied. Memory: one extra copy of the selection, not of
 * the UNet, in float16 where that is exact.
 */
public final class OriginalWeights implements FrozenModel {
  /**
   * Whether an original is kept in float16 where that is exact (weights from a float16 file): the
   * layers read it as the same float32 values ({@link Param#valueF32()}), at half the memory. Tests
   * switch it off to compare.
   */
  static volatile boolean halfStorage = true;

  private final List<Param> params;
  private final List<NDArray> originals;

  /**
   * Copies the current values of {@code selected} into {@code manager}; call it before training
   * changes them.
   */
  public OriginalWeights(List<Param> selected, NDManager manager) {
    this.params = List.copyOf(selected);
    List<NDArray> copies = new ArrayList<>(params.size());
    for (Param p : params) {
      NDArray half = halfStorage ? Param.halfIfExact(p.value()) : null;
      NDArray c = half != null ? half : p.value().duplicate();
      c.attach(manager);
      copies.add(c);
    }
    this.originals = List.copyOf(copies);
  }

  /** The original values, one per selected parameter (for temp-attaching in a step). */
  public NDList arrays() {
    return new NDList(originals.toArray(new NDArray[0]));
  }

  @Override
  public NDArray run(Supplier<NDArray> body) {
    List<NDArray> trained = new ArrayList<>(params.size());
    for (int i = 0; i < params.size(); i++) {
      trained.add(params.get(i).value());
      params.get(i).setValue(originals.get(i));
    }
    try {
      return body.get();
    } finally {
      for (int i = 0; i < params.size(); i++) {
        params.get(i).setValue(trained.get(i));
      }
    }
  }
}

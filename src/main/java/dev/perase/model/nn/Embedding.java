package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** {@code torch.nn.Embedding}: rows of a (num, dim) table picked by integer ids. */
public final class Embedding {
  public final Param weight;

  private Embedding(Param weight) {
    this.weight = weight;
  }

  public static Embedding load(Weights w, long num, long dim) {
    return new Embedding(w.param("weight", Param.Kind.EMBEDDING, num, dim));
  }

  /** ids of any shape (int64) → (..., dim). */
  public NDArray forward(NDArray ids) {
    NDArray table = weight.effective();
    NDArray flat = ids.toType(DataType.INT64, false).flatten();
    NDArray rows = table.get(flat);
    rows.attach(ids.getManager()); // the look-up belongs to the caller's scope, not the table's
    long[] shape = ids.getShape().getShape();
    long[] out = java.util.Arrays.copyOf(shape, shape.length + 1);
    out[shape.length] = table.getShape().get(1);
    return rows.reshape(out);
  }

  /**
   * Relaxed look-up: a (..., num) matrix of weights over the vocabulary (one-hot or on the simplex)
   * times the table, so gradients reach the weights. Used by the prompt attacks.
   */
  public NDArray forwardSoft(NDArray weightsOverVocab) {
    return weightsOverVocab.matMul(weight.effective());
  }

  public long dim() {
    return weight.value().getShape().get(1);
  }
}

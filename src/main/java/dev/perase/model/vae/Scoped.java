package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Runs a block's forward in a sub-scope of its input's manager so that only the result outlives the
 * call: at SD scale a decoder intermediate is (1, 128, 512, 512) floats = 128 MiB, and keeping
 * every one of them until the caller's step ends would cost gigabytes.
 */
final class Scoped {
  private Scoped() {}

  /** {@code body(x)}, with every intermediate freed and the result in {@code x}'s manager. */
  static NDArray call(NDArray x, UnaryOperator<NDArray> body) {
    NDManager caller = x.getManager();
    try (NDManager scope = caller.newSubManager()) {
      scope.tempAttachAll(x); // ops on x now land in scope; x goes back to caller on close
      NDArray y = body.apply(x);
      y.attach(caller);
      return y;
    }
  }

  /** As {@link #call} for a body with several results. */
  static NDList callList(NDArray x, Function<NDArray, NDList> body) {
    NDManager caller = x.getManager();
    try (NDManager scope = caller.newSubManager()) {
      scope.tempAttachAll(x);
      NDList y = body.apply(x);
      y.attach(caller);
      return y;
    }
  }
}

package dev.perase.tensor;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;

/**
 * One NDManager sub-scope for one step or iteration: the persistent arrays it reads (weights,
 * latents) are temp-attached, so every result computed from them lands here and is freed on close;
 * what must outlive the step leaves explicitly through {@link #keep}.
 */
public final class StepScope implements AutoCloseable {
  private final NDManager parent;
  private final NDManager sub;

  private StepScope(NDManager parent, NDList persistent) {
    this.parent = parent;
    this.sub = parent.newSubManager();
    if (persistent != null && !persistent.isEmpty()) {
      sub.tempAttachAll(persistent.toArray(new NDResource[0]));
    }
  }

  /** Opens a scope under {@code parent} with {@code persistent} temp-attached. */
  public static StepScope open(NDManager parent, NDList persistent) {
    return new StepScope(parent, persistent);
  }

  public NDManager manager() {
    return sub;
  }

  /** Moves {@code r} out of the scope to the parent manager, so it survives {@link #close()}. */
  public <T extends NDResource> T keep(T r) {
    r.attach(parent);
    return r;
  }

  @Override
  public void close() {
    sub.close();
  }
}

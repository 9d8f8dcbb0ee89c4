package dev.perase.model.clip;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/** transformers' {@code CLIPMLP}: {@code fc2(act(fc1(x)))}, act quick_gelu x·σ(1.702x) or GELU. */
public final class CLIPMLP {
  public final Linear fc1;
  public final Linear fc2;
  private final boolean quickGelu;

  CLIPMLP(Weights w, CLIPTextConfig config) {
    fc1 = Linear.load(w.child("fc1"), config.hiddenSize(), config.intermediateSize());
    fc2 = Linear.load(w.child("fc2"), config.intermediateSize(), config.hiddenSize());
    quickGelu = config.hiddenAct().equals("quick_gelu");
  }

  /** (B, L, D) → (B, L, D) through the intermediate width. */
  public NDArray forward(NDArray x) {
    NDArray h = fc1.forward(x);
    h = quickGelu ? Ops.quickGelu(h) : Ops.gelu(h);
    return fc2.forward(h);
  }
}

package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code GEGLU} (Shazeer 2020, "GLU variants"): {@code proj} maps dim → 2·inner, the
 * result splits into (hidden, gate) along the last axis, and the output is hidden · GELU(gate) with
 * the exact erf GELU. Its output is the input of {@code ff.net.2}.
 */
public final class GEGLU {
  public final String path;
  public final Linear proj;

  private GEGLU(String path, Linear proj) {
    this.path = path;
    this.proj = proj;
  }

  public static GEGLU load(Weights w, int dimIn, int dimOut) {
    return new GEGLU(w.prefix(), Linear.load(w.child("proj"), dimIn, 2L * dimOut));
  }

  /** (B, N, dim_in) → (B, N, dim_out). */
  public NDArray forward(NDArray hiddenStates, Taps taps) {
    NDArray projected = proj.forward(hiddenStates); // (B, N, 2·dim_out)
    NDList parts = projected.split(2, projected.getShape().dimension() - 1); // hidden, gate
    NDArray out = parts.get(0).mul(Ops.gelu(parts.get(1)));
    taps.record(path, out);
    return out;
  }
}

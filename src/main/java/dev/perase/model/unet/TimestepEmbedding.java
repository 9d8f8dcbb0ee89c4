package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/** diffusers' {@code TimestepEmbedding}: linear_2(SiLU(linear_1(t_emb))), (B, in) → (B, dim). */
public final class TimestepEmbedding {
  public final Linear linear1;
  public final Linear linear2;

  private TimestepEmbedding(Linear linear1, Linear linear2) {
    this.linear1 = linear1;
    this.linear2 = linear2;
  }

  public static TimestepEmbedding load(Weights w, int inChannels, int timeEmbedDim) {
    return new TimestepEmbedding(
        Linear.load(w.child("linear_1"), inChannels, timeEmbedDim),
        Linear.load(w.child("linear_2"), timeEmbedDim, timeEmbedDim));
  }

  public NDArray forward(NDArray sample) {
    NDArray h = linear1.forward(sample);
    h = Ops.silu(h);
    return linear2.forward(h);
  }
}

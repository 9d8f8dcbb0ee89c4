package dev.perase.model.clip;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * transformers' {@code CLIPAttention}: multi-head self-attention with biased q/k/v/out projections,
 * {@code softmax(Q Kᵀ · d^−½ + M) V} with an additive mask M (the causal mask).
 */
public final class CLIPAttention {
  public final Linear qProj;
  public final Linear kProj;
  public final Linear vProj;
  public final Linear outProj;
  private final int heads;
  private final int headDim;
  private final float scale;

  CLIPAttention(Weights w, CLIPTextConfig config) {
    long d = config.hiddenSize();
    qProj = Linear.load(w.child("q_proj"), d, d);
    kProj = Linear.load(w.child("k_proj"), d, d);
    vProj = Linear.load(w.child("v_proj"), d, d);
    outProj = Linear.load(w.child("out_proj"), d, d);
    heads = config.numAttentionHeads();
    headDim = config.headDim();
    scale = (float) Math.pow(headDim, -0.5);
  }

  /** hidden (B, L, D), additive mask broadcastable to (B, heads, L, L) → (B, L, D). */
  public NDArray forward(NDArray hidden, NDArray mask) {
    long b = hidden.getShape().get(0);
    long len = hidden.getShape().get(1);
    // as transformers: the query is scaled before the product
    NDArray q = splitHeads(Ops.scale(qProj.forward(hidden), scale), b, len); // (B, heads, L, d)
    NDArray k = splitHeads(kProj.forward(hidden), b, len);
    NDArray v = splitHeads(vProj.forward(hidden), b, len);
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).add(mask); // (B, heads, L, L)
    NDArray out = scores.softmax(-1).matMul(v); // (B, heads, L, d)
    out = out.transpose(0, 2, 1, 3).reshape(b, len, (long) heads * headDim); // (B, L, D)
    return outProj.forward(out);
  }

  private NDArray splitHeads(NDArray x, long b, long len) {
    return x.reshape(b, len, heads, headDim).transpose(0, 2, 1, 3);
  }
}

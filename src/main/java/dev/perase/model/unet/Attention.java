package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code Attention} with the default processor: multi-head attention of the queries
 * {@code to_q(x)} over the keys and values {@code to_k(c), to_v(c)} of a context c (c = x for self
 * attention {@code attn1}, the text embedding for cross attention {@code attn2}):
 *
 * <pre>
 *   out = to_out.0( concat_heads( softmax(Q Kᵀ / √d) V ) )
 * </pre>
 *
 * to_q/to_k/to_v carry no bias (attention_bias = False), to_out.0 does; d = dim_head. All heads run
 * in one batched matmul on (B, heads, N, d).
 */
public final class Attention {
  /**
   * Suffix of the tap a cross attention reports its probabilities softmax(Q Kᵀ / √d), (B, heads, N,
   * M), under: {@code <path>.attention_probs}. Self attention reports none (its (N, N) maps would
   * be 512 MB per layer for SD at 512 px).
   */
  public static final String PROBS_TAP = ".attention_probs";

  public final String path;
  public final Linear toQ;
  public final Linear toK;
  public final Linear toV;
  public final Linear toOut;
  private final int heads;
  private final int dimHead;
  private final float scale;

  private Attention(
      String path, Linear toQ, Linear toK, Linear toV, Linear toOut, int heads, int dimHead) {
    this.path = path;
    this.toQ = toQ;
    this.toK = toK;
    this.toV = toV;
    this.toOut = toOut;
    this.heads = heads;
    this.dimHead = dimHead;
    this.scale = (float) (1.0 / Math.sqrt(dimHead));
  }

  /**
   * @param crossAttentionDim width of the context, or {@code queryDim} for self attention
   */
  public static Attention load(
      Weights w, int queryDim, int crossAttentionDim, int heads, int dimHead) {
    int inner = heads * dimHead;
    return new Attention(
        w.prefix(),
        Linear.load(w.child("to_q"), queryDim, inner, false),
        Linear.load(w.child("to_k"), crossAttentionDim, inner, false),
        Linear.load(w.child("to_v"), crossAttentionDim, inner, false),
        Linear.load(w.child("to_out").child(0), inner, queryDim, true),
        heads,
        dimHead);
  }

  /**
   * hidden (B, N, query_dim), context (B, M, cross_dim) or null for self attention → (B, N,
   * query_dim).
   */
  public NDArray forward(NDArray hiddenStates, NDArray encoderHiddenStates, Taps taps) {
    NDArray context = encoderHiddenStates != null ? encoderHiddenStates : hiddenStates;
    long b = hiddenStates.getShape().get(0);
    long n = hiddenStates.getShape().get(1);
    long m = context.getShape().get(1);

    NDArray query = toQ.forward(hiddenStates).reshape(b, n, heads, dimHead).transpose(0, 2, 1, 3);
    NDArray key = toK.forward(context).reshape(b, m, heads, dimHead).transpose(0, 2, 1, 3);
    NDArray value = toV.forward(context).reshape(b, m, heads, dimHead).transpose(0, 2, 1, 3);
    NDArray attn;
    if (encoderHiddenStates != null) {
      // cross attention: the probabilities over the text tokens are tapped (FMN re-steers them)
      NDArray probs = Ops.attentionProbs(query, key, scale); // (B, heads, N, M)
      taps.record(path + PROBS_TAP, probs);
      attn = probs.matMul(value); // (B, heads, N, d)
    } else {
      attn = Ops.attention(query, key, value, scale); // (B, heads, N, d)
    }
    attn = attn.transpose(0, 2, 1, 3).reshape(b, n, (long) heads * dimHead); // (B, N, inner)

    NDArray out = toOut.forward(attn); // to_out.1 is dropout (p = 0)
    taps.record(path, out);
    return out;
  }

  public int heads() {
    return heads;
  }

  public int dimHead() {
    return dimHead;
  }
}

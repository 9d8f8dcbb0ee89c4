package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.LayerNorm;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;

/**
 * diffusers' {@code BasicTransformerBlock} (norm_type "layer_norm", pre-norm residuals):
 *
 * <pre>
 *   x = attn1(norm1(x)) + x          self attention
 *   x = attn2(norm2(x), text) + x    cross attention
 *   x = ff(norm3(x)) + x             GEGLU feed-forward
 * </pre>
 */
public final class BasicTransformerBlock {
  public final LayerNorm norm1;
  public final Attention attn1;
  public final LayerNorm norm2;
  public final Attention attn2;
  public final LayerNorm norm3;
  public final FeedForward ff;

  private BasicTransformerBlock(
      LayerNorm norm1,
      Attention attn1,
      LayerNorm norm2,
      Attention attn2,
      LayerNorm norm3,
      FeedForward ff) {
    this.norm1 = norm1;
    this.attn1 = attn1;
    this.norm2 = norm2;
    this.attn2 = attn2;
    this.norm3 = norm3;
    this.ff = ff;
  }

  public static BasicTransformerBlock load(
      Weights w, int dim, int heads, int dimHead, int crossAttentionDim) {
    float eps = 1e-5f;
    return new BasicTransformerBlock(
        LayerNorm.load(w.child("norm1"), dim, eps),
        Attention.load(w.child("attn1"), dim, dim, heads, dimHead),
        LayerNorm.load(w.child("norm2"), dim, eps),
        Attention.load(w.child("attn2"), dim, crossAttentionDim, heads, dimHead),
        LayerNorm.load(w.child("norm3"), dim, eps),
        FeedForward.load(w.child("ff"), dim));
  }

  /** hidden (B, N, dim), text (B, M, cross_dim) → (B, N, dim). */
  public NDArray forward(NDArray hiddenStates, NDArray encoderHiddenStates, Taps taps) {
    NDArray attnOutput = attn1.forward(norm1.forward(hiddenStates), null, taps);
    hiddenStates = attnOutput.add(hiddenStates);

    attnOutput = attn2.forward(norm2.forward(hiddenStates), encoderHiddenStates, taps);
    hiddenStates = attnOutput.add(hiddenStates);

    NDArray ffOutput = ff.forward(norm3.forward(hiddenStates), taps);
    return ffOutput.add(hiddenStates);
  }
}

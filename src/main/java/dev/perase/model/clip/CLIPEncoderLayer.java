package dev.perase.model.clip;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.LayerNorm;
import dev.perase.model.nn.Weights;

/**
 * transformers' {@code CLIPEncoderLayer}, a pre-norm transformer block: {@code x = x +
 * self_attn(layer_norm1(x)); x = x + mlp(layer_norm2(x))}.
 */
public final class CLIPEncoderLayer {
  public final LayerNorm layerNorm1;
  public final CLIPAttention selfAttn;
  public final LayerNorm layerNorm2;
  public final CLIPMLP mlp;

  CLIPEncoderLayer(Weights w, CLIPTextConfig config) {
    float eps = (float) config.layerNormEps();
    layerNorm1 = LayerNorm.load(w.child("layer_norm1"), config.hiddenSize(), eps);
    selfAttn = new CLIPAttention(w.child("self_attn"), config);
    layerNorm2 = LayerNorm.load(w.child("layer_norm2"), config.hiddenSize(), eps);
    mlp = new CLIPMLP(w.child("mlp"), config);
  }

  /** hidden (B, L, D), additive attention mask (L, L) → (B, L, D). */
  public NDArray forward(NDArray hidden, NDArray mask) {
    NDArray residual = hidden;
    hidden = residual.add(selfAttn.forward(layerNorm1.forward(hidden), mask));
    residual = hidden;
    return residual.add(mlp.forward(layerNorm2.forward(hidden)));
  }
}

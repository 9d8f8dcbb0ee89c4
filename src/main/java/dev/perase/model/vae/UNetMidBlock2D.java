package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Weights;

/**
 * diffusers' {@code UNetMidBlock2D} as the VAE builds it (one layer, no time embedding): resnets.0
 * → attentions.0 (when {@code mid_block_add_attention}) → resnets.1, all at C channels.
 */
final class UNetMidBlock2D {
  final ResnetBlock2D resnet0;
  final Attention attention; // attentions.0, null without mid-block attention
  final ResnetBlock2D resnet1;

  UNetMidBlock2D(Weights w, int channels, int groups, boolean addAttention) {
    // attentions before resnets, the order of diffusers' parameters
    attention =
        addAttention ? new Attention(w.child("attentions").child(0), channels, groups) : null;
    resnet0 = new ResnetBlock2D(w.child("resnets").child(0), channels, channels, groups);
    resnet1 = new ResnetBlock2D(w.child("resnets").child(1), channels, channels, groups);
  }

  NDArray forward(NDArray x) {
    x = resnet0.forward(x);
    if (attention != null) {
      x = attention.forward(x);
    }
    return resnet1.forward(x);
  }
}

package dev.perase.model.unet;

import java.util.List;

/**
 * The floating-point operations of one UNet2DConditionModel forward, counted as 2 × the
 * multiply-accumulates of every Conv2d and Linear and of the two attention matmuls (Q·Kᵀ and
 * softmax·V). Norms, activations, softmax, biases and additions are left out: they are a few
 * percent of the total and their cost depends on the kernel. Walks the architecture of the config,
 * so no weights are needed; latent sides that are not multiples of 2^(blocks − 1) are handled as
 * the UNet does (a stride-2 conv gives ⌈s/2⌉, each upsampler returns to its skip's size).
 */
public final class UNetFlops {
  private UNetFlops() {}

  /**
   * FLOPs of one forward for a batch of {@code batch} latents of {@code height × width} with a text
   * conditioning of {@code textLength} tokens.
   */
  public static long forward(
      UNet2DConditionConfig cfg, long batch, long height, long width, long textLength) {
    int n = cfg.numBlocks();
    List<Integer> boc = cfg.blockOutChannels();
    long temb = cfg.timeEmbedDim();
    // spatial size at each level: level i+1 = output of a 3×3 stride-2 conv with padding 1
    long[] h = new long[n];
    long[] w = new long[n];
    h[0] = height;
    w[0] = width;
    for (int i = 1; i < n; i++) {
      h[i] = (h[i - 1] - 1) / 2 + 1;
      w[i] = (w[i - 1] - 1) / 2 + 1;
    }

    long flops = 0;
    // 1. time
    flops += linear(batch, boc.get(0), temb) + linear(batch, temb, temb);
    // 2. pre-process
    flops += conv2d(batch, cfg.inChannels(), boc.get(0), cfg.convInKernel(), height, width);

    // 3. down
    int outputChannel = boc.get(0);
    for (int i = 0; i < n; i++) {
      int inputChannel = outputChannel;
      outputChannel = boc.get(i);
      boolean cross =
          UNet2DConditionConfig.CROSS_ATTN_DOWN_BLOCK_2D.equals(cfg.downBlockTypes().get(i));
      for (int j = 0; j < cfg.layersPerBlock().get(i); j++) {
        flops +=
            resnet(batch, j == 0 ? inputChannel : outputChannel, outputChannel, temb, h[i], w[i]);
        if (cross) {
          flops += transformer(cfg, i, batch, outputChannel, h[i], w[i], textLength);
        }
      }
      if (i < n - 1) {
        flops += conv2d(batch, outputChannel, outputChannel, 3, h[i + 1], w[i + 1]);
      }
    }

    // 4. mid
    int c = boc.get(n - 1);
    flops += 2 * resnet(batch, c, c, temb, h[n - 1], w[n - 1]);
    flops += transformer(cfg, n - 1, batch, c, h[n - 1], w[n - 1], textLength);

    // 5. up
    outputChannel = boc.get(n - 1);
    for (int i = 0; i < n; i++) {
      int r = n - 1 - i;
      int prevOutputChannel = outputChannel;
      outputChannel = boc.get(r);
      int inputChannel = boc.get(Math.max(r - 1, 0));
      boolean cross =
          UNet2DConditionConfig.CROSS_ATTN_UP_BLOCK_2D.equals(cfg.upBlockTypes().get(i));
      int numLayers = cfg.layersPerBlock().get(r) + 1;
      for (int j = 0; j < numLayers; j++) {
        int skip = j == numLayers - 1 ? inputChannel : outputChannel;
        int in = (j == 0 ? prevOutputChannel : outputChannel) + skip;
        flops += resnet(batch, in, outputChannel, temb, h[r], w[r]);
        if (cross) {
          flops += transformer(cfg, r, batch, outputChannel, h[r], w[r], textLength);
        }
      }
      if (i < n - 1) {
        flops += conv2d(batch, outputChannel, outputChannel, 3, h[r - 1], w[r - 1]);
      }
    }

    // 6. post-process
    flops += conv2d(batch, boc.get(0), cfg.outChannels(), cfg.convOutKernel(), height, width);
    return flops;
  }

  /** 2·B·C_out·C_in·k²·H_out·W_out. */
  public static long conv2d(
      long batch, long inChannels, long outChannels, int kernel, long outHeight, long outWidth) {
    return 2 * batch * outChannels * inChannels * kernel * kernel * outHeight * outWidth;
  }

  /** 2·tokens·in·out. */
  public static long linear(long tokens, long in, long out) {
    return 2 * tokens * in * out;
  }

  /** Q·Kᵀ and softmax·V for each head: 2 × 2·B·heads·N·M·d. */
  public static long attention(long batch, long heads, long queries, long keys, long dimHead) {
    return 2 * (2 * batch * heads * queries * keys * dimHead);
  }

  private static long resnet(long batch, long in, long out, long temb, long h, long w) {
    long f =
        conv2d(batch, in, out, 3, h, w)
            + linear(batch, temb, out)
            + conv2d(batch, out, out, 3, h, w);
    if (in != out) {
      f += conv2d(batch, in, out, 1, h, w);
    }
    return f;
  }

  /** Transformer2DModel of down-block level {@code level} on a C×h×w map. */
  private static long transformer(
      UNet2DConditionConfig cfg,
      int level,
      long batch,
      long channels,
      long h,
      long w,
      long textLength) {
    long heads = cfg.heads(level);
    long dimHead = channels / heads;
    long inner = heads * dimHead;
    long crossDim = cfg.crossAttentionDim().get(level);
    long tokens = batch * h * w;
    long n = h * w;
    long f = linear(tokens, channels, inner); // proj_in (a 1×1 conv costs the same)
    long perLayer =
        // attn1: q, k, v, softmax(QKᵀ)V, to_out
        3 * linear(tokens, inner, inner)
            + attention(batch, heads, n, n, dimHead)
            + linear(tokens, inner, inner)
            // attn2: q from the image, k and v from the text
            + linear(tokens, inner, inner)
            + 2 * linear(batch * textLength, crossDim, inner)
            + attention(batch, heads, n, textLength, dimHead)
            + linear(tokens, inner, inner)
            // ff: GEGLU proj to 2·4·inner, then 4·inner → inner
            + linear(tokens, inner, 8 * inner)
            + linear(tokens, 4 * inner, inner);
    f += cfg.transformerLayersPerBlock().get(level) * perLayer;
    f += linear(tokens, inner, channels); // proj_out
    return f;
  }
}

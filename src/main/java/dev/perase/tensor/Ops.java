package dev.perase.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Ops DJL lacks, composed from its functional ops. Each keeps the input as the first operand so the
 * result belongs to the input's (step-scoped) manager.
 */
public final class Ops {
  private Ops() {}

  /** SiLU: x·σ(x). */
  public static NDArray silu(NDArray x) {
    return x.mul(Activation.sigmoid(x));
  }

  /** CLIP's quick_gelu: x·σ(1.702x). */
  public static NDArray quickGelu(NDArray x) {
    return x.mul(Activation.sigmoid(scale(x, 1.702f)));
  }

  /**
   * x · s, with the scalar tensor s left in x's manager (freed when that closes). Not {@code
   * x.mul(s)}: DJL makes s a tensor over a Java buffer and closes it right after the product, but
   * autograd keeps s for the backward pass; once the garbage collector frees the buffer, backward
   * reads garbage (seen as NaN gradients through the text encoder).
   */
  public static NDArray scale(NDArray x, float s) {
    return x.mul(x.getManager().create(s));
  }

  /** Exact (erf) GELU, as torch.nn.functional.gelu. */
  public static NDArray gelu(NDArray x) {
    return Activation.gelu(x);
  }

  /**
   * Group norm of (N, C, ...) over groups of C: reshape to (N, G, rest), normalise each row with a
   * unit-affine layer norm, then apply the per-channel affine.
   */
  public static NDArray groupNorm(NDArray x, int groups, NDArray gamma, NDArray beta, float eps) {
    Shape s = x.getShape();
    long n = s.get(0);
    long c = s.get(1);
    NDArray g = x.reshape(n, groups, -1); // (N, G, C/G·HW)
    long rest = g.getShape().get(2);
    NDArray one = x.getManager().ones(new Shape(rest));
    NDArray zero = x.getManager().zeros(new Shape(rest));
    NDArray normed =
        ai.djl.nn.norm.LayerNorm.layerNorm(g, new Shape(rest), one, zero, eps)
            .singletonOrThrow()
            .reshape(s);
    long[] affine = new long[s.dimension()];
    java.util.Arrays.fill(affine, 1);
    affine[1] = c;
    return normed.mul(gamma.reshape(affine)).add(beta.reshape(affine));
  }

  /**
   * Scores (heads × N × M floats per batch row) above which {@link #attention} runs a slice of the
   * batch at a time: 2¹⁸ floats, 1 MiB, about one core's L2 cache. A libtorch profile of the world
   * model's forward and backward at batch 10 (ten attack attempts) showed the self attention's bmm,
   * softmax and their backward taking 14–16 times their batch-1 time, more than the tenfold work:
   * the (10, 4, 256, 256) scores and probabilities, 10 MiB each, fall out of the caches. One batch
   * row at a time keeps them in (README, Speed).
   */
  static final long ATTENTION_SLICE_FLOATS = 1L << 18;

  /**
   * Scaled dot-product attention on (B, heads, N, d) queries and (B, heads, M, d) keys and values:
   * softmax(Q Kᵀ · scale) V → (B, heads, N, d). When a batch row's scores exceed {@link
   * #ATTENTION_SLICE_FLOATS}, the batch goes through in slices of as many rows as fit it (at least
   * one); each row's result is computed as it would be alone.
   */
  public static NDArray attention(NDArray q, NDArray k, NDArray v, float scale) {
    long b = q.getShape().get(0);
    long scoresPerRow = q.getShape().get(1) * q.getShape().get(2) * k.getShape().get(2);
    long rows = Math.max(1, ATTENTION_SLICE_FLOATS / scoresPerRow);
    NDManager parent = q.getManager();
    // the scale is a tensor over a Java buffer that autograd keeps for backward (see scale()): it
    // lives in the caller's scope, not in the sub-scope below
    NDArray s = parent.create(scale);
    if (rows >= b) {
      try (NDManager tmp = parent.newSubManager()) {
        tmp.tempAttachAll(distinct(q, k, v));
        return keep(probs(q, k, s).matMul(v), parent);
      }
    }
    NDList slices = new NDList();
    for (long from = 0; from < b; from += rows) {
      NDIndex slice = new NDIndex("{}:{}", from, Math.min(b, from + rows));
      try (NDManager tmp = parent.newSubManager()) {
        NDArray qs = q.get(slice);
        NDArray ks = k.get(slice);
        NDArray vs = v.get(slice);
        qs.attach(tmp);
        ks.attach(tmp);
        vs.attach(tmp);
        slices.add(keep(probs(qs, ks, s).matMul(vs), parent));
      }
    }
    NDArray out = NDArrays.concat(slices, 0); // (B, heads, N, d)
    slices.close();
    return out;
  }

  /** softmax((q · scale) kᵀ) with the scale as a tensor, for {@link #attentionProbs} and slices. */
  private static NDArray probs(NDArray q, NDArray k, NDArray scale) {
    return q.mul(scale).matMul(k.swapAxes(-1, -2)).softmax(-1);
  }

  /**
   * {@code r} moved to {@code parent}: the scores and probabilities of an attention live in a
   * sub-manager that closes when its result is formed, so a pass holds one attention's scores at a
   * time, not all of them until its caller's scope ends (at 512×512 a self attention's scores are
   * 512 MiB per image; what backward needs, autograd keeps itself — every array it keeps is
   * libtorch's own memory, but the scale, which stays in the caller's scope).
   */
  private static NDArray keep(NDArray r, NDManager parent) {
    r.attach(parent);
    return r;
  }

  private static NDArray[] distinct(NDArray... arrays) {
    java.util.Set<NDArray> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    return java.util.Arrays.stream(arrays).filter(seen::add).toArray(NDArray[]::new);
  }

  /**
   * The attention probabilities softmax(Q Kᵀ · scale) of (B, heads, N, d) queries over (B, heads,
   * M, d) keys → (B, heads, N, M), each row summing to 1; {@link #attention} multiplies them by V.
   */
  public static NDArray attentionProbs(NDArray q, NDArray k, float scale) {
    return probs(q, k, q.getManager().create(scale)); // (B, heads, N, M)
  }

  /**
   * Output channels below which a convolution's input gradient went wrong at batch 2 and more on
   * this project's machine (AMD Zen 5, libtorch 2.7.1: wrong values, now and then NaN, for 3, 4 and
   * 8 channels; {@code ConvolutionGradientTest}); with 32 it was right. At batch 1 the values were
   * right in every probe, but erasing runs (batch 1) got a NaN gradient for all but the last two
   * trained tensors (everything upstream of the 3-channel {@code conv_out}) in about 1 % of their
   * steps; with the padding at batch 1 too, none in 600 steps (README, Known problems).
   */
  static final int GRADIENT_SAFE_CHANNELS = 32;

  /**
   * {@code torch.nn.functional.conv2d} (dilation 1, one group). When gradients are being recorded
   * (inside a GradientCollector) and the weight has fewer than {@link #GRADIENT_SAFE_CHANNELS}
   * output channels, the weight is padded with zero filters to that many and the extra outputs are
   * cut off again: the values are the same (within float rounding) and the input gradient is right.
   * Inference takes the plain call, bit for bit as before.
   */
  public static NDArray conv2d(NDArray x, NDArray w, NDArray b, Shape stride, Shape padding) {
    long out = w.getShape().get(0);
    Shape dilation = new Shape(1, 1);
    if (out >= GRADIENT_SAFE_CHANNELS || !JniUtils.isGradMode()) {
      return Conv2d.conv2d(x, w, b, stride, padding, dilation, 1).singletonOrThrow();
    }
    long extra = GRADIENT_SAFE_CHANNELS - out;
    Shape ws = w.getShape();
    NDManager m = x.getManager();
    // the zero filters first, so that the padded arrays belong to x's manager
    NDArray wp = m.zeros(new Shape(extra, ws.get(1), ws.get(2), ws.get(3))).concat(w, 0);
    NDArray bp = b == null ? null : m.zeros(new Shape(extra)).concat(b, 0);
    NDArray y = Conv2d.conv2d(x, wp, bp, stride, padding, dilation, 1).singletonOrThrow();
    return y.get(new NDIndex(":, {}:", extra)); // (N, out, H', W')
  }

  /** Nearest-neighbour upsampling of (N, C, H, W) by 2 in both spatial dimensions. */
  public static NDArray upsampleNearest2x(NDArray x) {
    Shape s = x.getShape();
    long n = s.get(0), c = s.get(1), h = s.get(2), w = s.get(3);
    return x.reshape(n, c, h, 1, w, 1).broadcast(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w);
  }
}

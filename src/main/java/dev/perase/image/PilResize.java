package dev.perase.image;

import dev.perase.io.Png;

/**
 * Pillow's {@code Image.resize} (Pillow 9.4.0, {@code libImaging/Resample.c}, {@code
 * reducing_gap=None}) for the two filters Hugging Face image processors and clean-fid use, bit for
 * bit: on 8-bit RGB images (Pillow's fixed-point path, what transformers' {@code resize} runs on a
 * uint8 image) and on float planes (Pillow's mode {@code 'F'}, what clean-fid's {@code clean} mode
 * runs per channel).
 *
 * <p>Each axis is resampled separately. For input length n and output length m: {@code scale = n /
 * m}, {@code fs = max(scale, 1)} (the filter is stretched when shrinking, so downscaling is
 * antialiased), {@code support = s · fs} with s the filter's support. Output index i has {@code
 * center = (i + 0.5) · scale} and reads inputs {@code j ∈ [lo, hi)} with {@code lo = max(int(center
 * − support + 0.5), 0)}, {@code hi = min(int(center + support + 0.5), n)} ({@code int} truncates
 * toward zero) with weights {@code w_j = filter((j − center + 0.5) · (1 / fs))} divided by their
 * sum (all in double; multiplying by the reciprocal, not dividing by fs, as Pillow does).
 *
 * <ul>
 *   <li>8-bit: {@code k_j = trunc(w_j · 2²² + 0.5)} ({@code − 0.5} for negative w), {@code out =
 *       clip8((2²¹ + Σ S_j k_j) >> 22)} with an arithmetic shift and clipping to 0..255 — rounded,
 *       so a bicubic overshoot is clipped.
 *   <li>Float ({@link #resizeFloat}): {@code out = float32(Σ S_j w_j)}, the sum in double, neither
 *       rounded nor clipped.
 * </ul>
 *
 * The horizontal pass runs first, only if the width changes; its output is stored (uint8 or
 * float32) and read by the vertical pass, which runs only if the height changes.
 */
public final class PilResize {
  private PilResize() {}

  /** Fixed-point weight bits of Pillow's 8-bit path: {@code 32 − 8 − 2}. */
  private static final int PRECISION_BITS = 22;

  /** The resampling filters, with Pillow's kernels and supports. */
  public enum Filter {
    /** Tent, support 1: {@code f(x) = 1 − |x|} for |x| < 1. Pillow's {@code BILINEAR} (2). */
    BILINEAR(1.0),
    /**
     * Keys' cubic convolution with a = −0.5, support 2: {@code f(x) = ((a + 2)|x| − (a + 3))|x|² +
     * 1} for |x| < 1, {@code (((|x| − 5)|x| + 8)|x| − 4) · a} for 1 ≤ |x| < 2. Pillow's {@code
     * BICUBIC} (3).
     */
    BICUBIC(2.0);

    private static final double A = -0.5;

    /** Half-width of the kernel at scale 1. */
    public final double support;

    Filter(double support) {
      this.support = support;
    }

    /** The kernel at x, evaluated in Pillow's operation order. */
    double apply(double x) {
      if (x < 0.0) {
        x = -x;
      }
      return switch (this) {
        case BILINEAR -> x < 1.0 ? 1.0 - x : 0.0;
        case BICUBIC -> {
          if (x < 1.0) {
            yield ((A + 2.0) * x - (A + 3.0)) * x * x + 1;
          }
          if (x < 2.0) {
            yield (((x - 5) * x + 8) * x - 4) * A;
          }
          yield 0.0;
        }
      };
    }
  }

  /**
   * One axis' resampling weights: output i reads {@code count[i]} inputs from {@code first[i]} with
   * weights {@code weights[i · kSize + j]} (normalised to sum 1).
   */
  private record Coefficients(int[] first, int[] count, double[] weights, int kSize) {}

  /** Pillow's {@code precompute_coeffs} for a whole axis of {@code inSize} → {@code outSize}. */
  private static Coefficients coefficients(int inSize, int outSize, Filter filter) {
    double scale = (double) inSize / outSize;
    double filterScale = Math.max(scale, 1.0);
    double support = filter.support * filterScale;
    int kSize = (int) Math.ceil(support) * 2 + 1;
    int[] first = new int[outSize];
    int[] count = new int[outSize];
    double[] weights = new double[outSize * kSize];
    double ss = 1.0 / filterScale;
    for (int i = 0; i < outSize; i++) {
      double center = (i + 0.5) * scale;
      int lo = Math.max((int) (center - support + 0.5), 0);
      int hi = Math.min((int) (center + support + 0.5), inSize);
      int n = hi - lo;
      double sum = 0.0;
      for (int j = 0; j < n; j++) {
        double w = filter.apply(((j + lo) - center + 0.5) * ss);
        weights[i * kSize + j] = w;
        sum += w;
      }
      if (sum != 0.0) {
        for (int j = 0; j < n; j++) {
          weights[i * kSize + j] /= sum;
        }
      }
      first[i] = lo;
      count[i] = n;
    }
    return new Coefficients(first, count, weights, kSize);
  }

  /** Pillow's {@code normalize_coeffs_8bpc}: {@code trunc(w · 2²² ± 0.5)}, away from zero. */
  private static int[] fixedPoint(double[] weights) {
    int[] k = new int[weights.length];
    for (int i = 0; i < weights.length; i++) {
      double w = weights[i];
      k[i] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    return k;
  }

  /** Pillow's {@code clip8}: the accumulated sum (rounding bias included) to 0..255. */
  private static byte clip8(int sum) {
    return (byte) Math.min(255, Math.max(0, sum >> PRECISION_BITS));
  }

  /**
   * {@code Image.resize((newWidth, newHeight), filter)} of an 8-bit RGB image, Pillow's fixed-point
   * path; the same size gives a copy.
   */
  public static Png.Image resize(Png.Image image, int newWidth, int newHeight, Filter filter) {
    checkSize(newWidth, newHeight);
    int w = image.width();
    int h = image.height();
    byte[] src = image.rgb();
    // 1. horizontal: (h, w, 3) -> (h, newWidth, 3)
    if (newWidth != w) {
      Coefficients c = coefficients(w, newWidth, filter);
      int[] k = fixedPoint(c.weights());
      byte[] out = new byte[h * newWidth * 3];
      for (int y = 0; y < h; y++) {
        int row = y * w * 3;
        for (int x = 0; x < newWidth; x++) {
          int k0 = x * c.kSize();
          int lo = c.first()[x];
          for (int ch = 0; ch < 3; ch++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int j = 0; j < c.count()[x]; j++) {
              ss += (src[row + (lo + j) * 3 + ch] & 0xff) * k[k0 + j];
            }
            out[(y * newWidth + x) * 3 + ch] = clip8(ss);
          }
        }
      }
      src = out;
      w = newWidth;
    }
    // 2. vertical: (h, w, 3) -> (newHeight, w, 3)
    if (newHeight != h) {
      Coefficients c = coefficients(h, newHeight, filter);
      int[] k = fixedPoint(c.weights());
      int stride = w * 3;
      byte[] out = new byte[newHeight * stride];
      for (int y = 0; y < newHeight; y++) {
        int k0 = y * c.kSize();
        int lo = c.first()[y];
        for (int i = 0; i < stride; i++) {
          int ss = 1 << (PRECISION_BITS - 1);
          for (int j = 0; j < c.count()[y]; j++) {
            ss += (src[(lo + j) * stride + i] & 0xff) * k[k0 + j];
          }
          out[y * stride + i] = clip8(ss);
        }
      }
      src = out;
    }
    return new Png.Image(newWidth, newHeight, src == image.rgb() ? src.clone() : src);
  }

  /**
   * {@code Image.fromarray(plane, mode='F').resize((newW, newH), filter)}: Pillow's float path on
   * one channel, weights and sums in double, every stored value float32 (no rounding to integers,
   * no clipping); the same size gives a copy.
   *
   * @param plane {@code h × w} values, row-major
   */
  public static float[] resizeFloat(float[] plane, int w, int h, int newW, int newH, Filter f) {
    if (w < 1 || h < 1 || plane.length != w * h) {
      throw new IllegalArgumentException(
          "a " + w + "×" + h + " plane needs " + (long) w * h + " values, not " + plane.length);
    }
    checkSize(newW, newH);
    float[] src = plane;
    // 1. horizontal: (h, w) -> (h, newW)
    if (newW != w) {
      Coefficients c = coefficients(w, newW, f);
      float[] out = new float[h * newW];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < newW; x++) {
          int k0 = x * c.kSize();
          int lo = c.first()[x];
          double ss = 0.0;
          for (int j = 0; j < c.count()[x]; j++) {
            ss += src[y * w + lo + j] * c.weights()[k0 + j];
          }
          out[y * newW + x] = (float) ss;
        }
      }
      src = out;
      w = newW;
    }
    // 2. vertical: (h, w) -> (newH, w)
    if (newH != h) {
      Coefficients c = coefficients(h, newH, f);
      float[] out = new float[newH * w];
      for (int y = 0; y < newH; y++) {
        int k0 = y * c.kSize();
        int lo = c.first()[y];
        for (int x = 0; x < w; x++) {
          double ss = 0.0;
          for (int j = 0; j < c.count()[y]; j++) {
            ss += src[(lo + j) * w + x] * c.weights()[k0 + j];
          }
          out[y * w + x] = (float) ss;
        }
      }
      src = out;
    }
    return src == plane ? plane.clone() : src;
  }

  private static void checkSize(int w, int h) {
    if (w < 1 || h < 1) {
      throw new IllegalArgumentException("cannot resize to " + w + "×" + h);
    }
  }
}

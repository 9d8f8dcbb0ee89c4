package dev.perase.image;

import dev.perase.io.Png;

/**
 * OpenCV's {@code cv2.resize} on 8-bit RGB images, bit for bit as OpenCV 4.6 computes it on x86-64
 * ({@code modules/imgproc/src/resize.cpp}: {@code hal::resize}, {@code resizeGeneric_} with {@code
 * HResizeLinear} and {@code VResizeLinear}, the SIMD {@code VResizeLinearVec_32s8u}). NudeNet's
 * {@code detector.py} calls {@code cv2.resize(rgb, (320, 320))}; the detector fixture's README
 * states the recipe and its generator checked it against OpenCV on every fixture image.
 */
public final class CvResize {
  /** {@code INTER_RESIZE_COEF_BITS}: interpolation weights are fixed point with 11 bits. */
  private static final int COEF_BITS = 11;

  /** {@code INTER_RESIZE_COEF_SCALE} = 2¹¹: the weight that stands for 1. */
  private static final int COEF_SCALE = 1 << COEF_BITS;

  /** Bytes per SIMD register of OpenCV's baseline x86-64 build (SSE, {@code v_uint8::nlanes}). */
  private static final int SIMD_BYTES = 16;

  private CvResize() {}

  /**
   * {@code cv2.resize(src, (width, height))} with the default {@code INTER_LINEAR}: bilinear with
   * half-pixel centres, no antialiasing, aspect ratio not kept.
   *
   * <p>Per output column {@code dx}, with {@code scaleX = 1 / (width / W)} in double ({@code
   * hal::resize} inverts {@code inv_scale_x = width / W}):
   *
   * <pre>
   *   fx = float((dx + 0.5)·scaleX − 0.5),  sx = ⌊fx⌋,  fx −= sx        (float32)
   *   sx &lt; 0:      sx = 0,   fx = 0
   *   sx ≥ W − 1:  sx = W − 1, fx = 0
   *   a0 = rint(float(1 − fx)·2048),  a1 = rint(fx·2048)          (round half to even)
   * </pre>
   *
   * and the same {@code fy, sy, b0, b1} per output row {@code dy}, but without the clamping of
   * {@code fy}: the two rows read are {@code clamp(sy, 0, H−1)} and {@code clamp(sy + 1, 0, H−1)}.
   * The horizontal pass is exact in integers, per channel: {@code D = S[row][sx]·a0 + S[row][min(sx
   * + 1, W−1)]·a1}. The vertical pass is the one OpenCV's vector code computes, with the arithmetic
   * shifts of its 16-bit {@code v_mul_hi}:
   *
   * <pre>
   *   out = clamp((((D0 &gt;&gt; 4)·b0 &gt;&gt; 16) + ((D1 &gt;&gt; 4)·b1 &gt;&gt; 16) + 2) &gt;&gt; 2, 0, 255)
   * </pre>
   *
   * not the textbook {@code (D0·b0 + D1·b1 + 2²¹) >> 22}, which differs in about 10 % of the
   * values. The vector loop covers an output row's {@code 3·width} bytes in steps of 16, then of 8
   * while more than 8 remain; OpenCV's scalar loop does the rest with the textbook formula, and so
   * does this port. A row of 320 pixels (960 bytes) is vectorised entirely whatever the SIMD width.
   *
   * <p>An exact 2× downscale on both axes is not bilinear: OpenCV switches {@code INTER_LINEAR} to
   * {@code INTER_AREA}'s fast path there, {@code out = (S[2y][2x] + S[2y][2x+1] + S[2y+1][2x] +
   * S[2y+1][2x+1] + 2) >> 2}. The same size returns the same pixels (the recipe above gives the
   * identity: {@code a0 = b0 = 2048}).
   *
   * @param width output width (cv2's {@code dsize[0]})
   * @param height output height (cv2's {@code dsize[1]})
   */
  public static Png.Image linear(Png.Image src, int width, int height) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("cannot resize to " + width + "×" + height);
    }
    if (src.width() == 2 * width && src.height() == 2 * height) {
      return areaHalf(src, width, height);
    }
    int sw = src.width();
    int sh = src.height();
    byte[] s = src.rgb();

    // 1. columns: source offsets and weights (alpha), as hal::resize sets up xofs / ialpha
    double scaleX = 1.0 / ((double) width / sw);
    int[] x0 = new int[width];
    int[] x1 = new int[width];
    int[] a0 = new int[width];
    int[] a1 = new int[width];
    for (int dx = 0; dx < width; dx++) {
      float fx = (float) ((dx + 0.5) * scaleX - 0.5);
      int sx = (int) Math.floor(fx);
      fx -= sx;
      if (sx < 0) {
        sx = 0;
        fx = 0;
      }
      if (sx >= sw - 1) {
        sx = sw - 1;
        fx = 0;
      }
      x0[dx] = 3 * sx;
      x1[dx] = 3 * Math.min(sx + 1, sw - 1);
      a0[dx] = (int) Math.rint((1f - fx) * COEF_SCALE); // saturate_cast<short>(cbuf[0] * 2048)
      a1[dx] = (int) Math.rint(fx * COEF_SCALE);
    }

    // 2. rows: the same, without clamping fy; the rows read are clamped instead
    double scaleY = 1.0 / ((double) height / sh);
    int n = 3 * width;
    int vectorEnd = vectorEnd(n);
    int[] d0 = new int[n];
    int[] d1 = new int[n];
    byte[] out = new byte[3 * width * height];
    for (int dy = 0; dy < height; dy++) {
      float fy = (float) ((dy + 0.5) * scaleY - 0.5);
      int sy = (int) Math.floor(fy);
      fy -= sy;
      int b0 = (int) Math.rint((1f - fy) * COEF_SCALE);
      int b1 = (int) Math.rint(fy * COEF_SCALE);
      horizontal(s, sw, clamp(sy, 0, sh - 1), x0, x1, a0, a1, d0);
      horizontal(s, sw, clamp(sy + 1, 0, sh - 1), x0, x1, a0, a1, d1);

      // 3. vertical: VResizeLinearVec_32s8u, then VResizeLinear's scalar tail
      int o = dy * n;
      for (int x = 0; x < vectorEnd; x++) {
        int v = (((d0[x] >> 4) * b0) >> 16) + (((d1[x] >> 4) * b1) >> 16); // v_mul_hi of int16
        out[o + x] = (byte) clamp((v + 2) >> 2, 0, 255); // v_rshr_pack_u<2>
      }
      for (int x = vectorEnd; x < n; x++) {
        int v = (d0[x] * b0 + d1[x] * b1 + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS);
        out[o + x] = (byte) clamp(v, 0, 255); // FixedPtCast<int, uchar, 22>
      }
    }
    return new Png.Image(width, height, out);
  }

  /** {@code D[dx·3 + c] = S[row][x0 + c]·a0 + S[row][x1 + c]·a1}: one source row, fixed point. */
  private static void horizontal(
      byte[] s, int sw, int row, int[] x0, int[] x1, int[] a0, int[] a1, int[] d) {
    int base = 3 * sw * row;
    for (int dx = 0; dx < x0.length; dx++) {
      for (int c = 0; c < 3; c++) {
        int p0 = s[base + x0[dx] + c] & 0xff;
        int p1 = s[base + x1[dx] + c] & 0xff;
        d[3 * dx + c] = p0 * a0[dx] + p1 * a1[dx];
      }
    }
  }

  /**
   * Where the vector loops of {@code VResizeLinearVec_32s8u} stop in a row of {@code n} bytes:
   * steps of 16 while 16 fit, then steps of 8 while more than 8 remain ({@code x < width − 8}).
   */
  static int vectorEnd(int n) {
    int x = 0;
    while (x <= n - SIMD_BYTES) {
      x += SIMD_BYTES;
    }
    while (x < n - SIMD_BYTES / 2) {
      x += SIMD_BYTES / 2;
    }
    return x;
  }

  /** {@code INTER_AREA}'s fast path for a 2× downscale: the rounded mean of each 2×2 block. */
  private static Png.Image areaHalf(Png.Image src, int width, int height) {
    byte[] s = src.rgb();
    int row = 3 * src.width();
    byte[] out = new byte[3 * width * height];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          int i = 2 * y * row + 6 * x + c;
          int sum =
              (s[i] & 0xff) + (s[i + 3] & 0xff) + (s[i + row] & 0xff) + (s[i + row + 3] & 0xff);
          out[(y * width + x) * 3 + c] = (byte) ((sum + 2) >> 2);
        }
      }
    }
    return new Png.Image(width, height, out);
  }

  private static int clamp(int v, int lo, int hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}

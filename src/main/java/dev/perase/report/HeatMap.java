package dev.perase.report;

import dev.perase.io.BadInputException;
import java.awt.image.BufferedImage;

/**
 * Concept-neuron heat maps (the paper's Fig. 3): a neuron's activation map (H', W') is upsampled to
 * the image's size (bilinear, as torch's {@code F.interpolate(mode="bilinear",
 * align_corners=False)}), coloured from blue (low) to red (high) with the jet colour map, and
 * alpha-blended onto the image: {@code out = (1 − α)·image + α·colour}.
 */
public final class HeatMap {
  /** The colour's weight in the blend. */
  public static final double ALPHA = 0.5;

  private HeatMap() {}

  /**
   * Overlays a map on an image.
   *
   * @param image the generated image (enlarge it first to show a 32-px image)
   * @param map activations (H', W'); upsampled to the image's size
   * @param low the value drawn blue (and everything below it)
   * @param high the value drawn red (and everything above it)
   * @param alpha the colour's weight, in [0, 1]
   */
  public static BufferedImage overlay(
      BufferedImage image, double[][] map, double low, double high, double alpha) {
    checkMap(map, "a heat map");
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha must lie in [0, 1], got " + alpha);
    }
    int w = image.getWidth();
    int h = image.getHeight();
    double[][] up = upsample(map, h, w);
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = image.getRGB(x, y);
        int c = color(high > low ? (up[y][x] - low) / (high - low) : 0);
        int r = blend(p >> 16 & 0xff, c >> 16 & 0xff, alpha);
        int g = blend(p >> 8 & 0xff, c >> 8 & 0xff, alpha);
        int b = blend(p & 0xff, c & 0xff, alpha);
        out.setRGB(x, y, r << 16 | g << 8 | b);
      }
    }
    return out;
  }

  /**
   * Bilinear resampling to (height, width) with torch's {@code align_corners=False} convention:
   * output pixel i samples the source at {@code max(0, (i + 0.5)·h/H − 0.5)}, edges clamped.
   */
  public static double[][] upsample(double[][] map, int height, int width) {
    int h = map.length;
    int w = map[0].length;
    double[][] out = new double[height][width];
    for (int y = 0; y < height; y++) {
      double sy = Math.max(0, (y + 0.5) * h / height - 0.5);
      int y0 = Math.min((int) sy, h - 1);
      int y1 = Math.min(y0 + 1, h - 1);
      double fy = sy - y0;
      for (int x = 0; x < width; x++) {
        double sx = Math.max(0, (x + 0.5) * w / width - 0.5);
        int x0 = Math.min((int) sx, w - 1);
        int x1 = Math.min(x0 + 1, w - 1);
        double fx = sx - x0;
        double top = map[y0][x0] * (1 - fx) + map[y0][x1] * fx;
        double bottom = map[y1][x0] * (1 - fx) + map[y1][x1] * fx;
        out[y][x] = top * (1 - fy) + bottom * fy;
      }
    }
    return out;
  }

  /**
   * The jet colour map at {@code t} (clamped to [0, 1]) as 0xRRGGBB: dark blue at 0, cyan, green,
   * yellow, dark red at 1 (each channel {@code clamp(1.5 − |4t − k|)}, k = 3, 2, 1 for R, G, B).
   */
  public static int color(double t) {
    double v = Double.isNaN(t) ? 0 : Math.min(Math.max(t, 0), 1);
    int r = channel(1.5 - Math.abs(4 * v - 3));
    int g = channel(1.5 - Math.abs(4 * v - 2));
    int b = channel(1.5 - Math.abs(4 * v - 1));
    return r << 16 | g << 8 | b;
  }

  /** A map must be a non-empty rectangle of finite values; {@code what} names it in the error. */
  static void checkMap(double[][] map, String what) {
    if (map == null || map.length == 0 || map[0] == null || map[0].length == 0) {
      throw new BadInputException(what + " has an empty activation map");
    }
    for (double[] row : map) {
      if (row == null || row.length != map[0].length) {
        throw new BadInputException(what + ": the activation map's rows differ in length");
      }
      for (double v : row) {
        if (!Double.isFinite(v)) {
          throw new BadInputException(what + ": the activation map holds a non-finite value");
        }
      }
    }
  }

  private static int channel(double v) {
    return (int) Math.round(Math.min(Math.max(v, 0), 1) * 255);
  }

  private static int blend(int image, int colour, double alpha) {
    return (int) Math.round((1 - alpha) * image + alpha * colour);
  }
}

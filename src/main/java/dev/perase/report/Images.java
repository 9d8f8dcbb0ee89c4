package dev.perase.report;

import dev.perase.io.Png;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * Java2D plumbing of the report: {@link Png.Image} to and from {@link BufferedImage}, nearest-
 * neighbour enlargement, text measuring, and PNG writing through {@link Png#write} (atomic). Runs
 * headless: the report is made on servers with no display.
 */
public final class Images {
  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /** The font of labels drawn into images. */
  static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

  private Images() {}

  /** An RGB image as a {@link BufferedImage} of type {@code TYPE_INT_RGB}. */
  public static BufferedImage toBuffered(Png.Image image) {
    BufferedImage out =
        new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < image.height(); y++) {
      for (int x = 0; x < image.width(); x++) {
        out.setRGB(x, y, image.get(y, x, 0) << 16 | image.get(y, x, 1) << 8 | image.get(y, x, 2));
      }
    }
    return out;
  }

  /** A {@link BufferedImage} as 8-bit RGB (alpha dropped). */
  public static Png.Image fromBuffered(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
    byte[] rgb = new byte[3 * w * h];
    for (int i = 0; i < argb.length; i++) {
      rgb[3 * i] = (byte) (argb[i] >> 16);
      rgb[3 * i + 1] = (byte) (argb[i] >> 8);
      rgb[3 * i + 2] = (byte) argb[i];
    }
    return new Png.Image(w, h, rgb);
  }

  /** Each pixel becomes a {@code factor × factor} block: the pixels of a 32-px image stay sharp. */
  public static BufferedImage upscale(BufferedImage image, int factor) {
    if (factor < 1) {
      throw new IllegalArgumentException("scale factor must be ≥ 1, got " + factor);
    }
    int w = image.getWidth();
    int h = image.getHeight();
    BufferedImage out = new BufferedImage(w * factor, h * factor, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h * factor; y++) {
      for (int x = 0; x < w * factor; x++) {
        out.setRGB(x, y, image.getRGB(x / factor, y / factor));
      }
    }
    return out;
  }

  /** Writes an image as an 8-bit RGB PNG under a temporary name, then renames it into place. */
  public static void writePng(Path file, BufferedImage image) {
    Png.write(file, fromBuffered(image));
  }

  /** A graphics context with text antialiasing, for measuring and drawing labels. */
  static Graphics2D graphics(BufferedImage image) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setRenderingHint(
        RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_OFF);
    g.setFont(LABEL_FONT);
    return g;
  }

  /** Metrics of {@link #LABEL_FONT}, measured on a scratch image. */
  static FontMetrics labelMetrics() {
    Graphics2D g = graphics(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB));
    try {
      return g.getFontMetrics();
    } finally {
      g.dispose();
    }
  }
}

package dev.perase.world;

import dev.perase.io.AtomicFile;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** Conversions of world images (3, 32, 32) in [-1, 1] to pictures, and grids of them as PNG. */
public final class WorldImages {
  private WorldImages() {}

  /**
   * One (3, H, W) image in [-1, 1] as an sRGB picture, each pixel repeated {@code scale}² times.
   */
  public static BufferedImage toImage(float[] chw, int height, int width, int scale) {
    BufferedImage img =
        new BufferedImage(width * scale, height * scale, BufferedImage.TYPE_INT_RGB);
    int plane = height * width;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int p = y * width + x;
        int rgb = (to255(chw[p]) << 16) | (to255(chw[plane + p]) << 8) | to255(chw[2 * plane + p]);
        for (int dy = 0; dy < scale; dy++) {
          for (int dx = 0; dx < scale; dx++) {
            img.setRGB(x * scale + dx, y * scale + dy, rgb);
          }
        }
      }
    }
    return img;
  }

  /**
   * Images laid out in rows of {@code columns}, 2-pixel gaps, each magnified {@code scale} times.
   */
  public static BufferedImage grid(List<float[]> images, int columns, int scale) {
    int s = WorldRenderer.SIZE;
    int gap = 2;
    int rows = (images.size() + columns - 1) / columns;
    BufferedImage out =
        new BufferedImage(
            columns * (s * scale + gap) + gap,
            rows * (s * scale + gap) + gap,
            BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < images.size(); i++) {
      BufferedImage tile = toImage(images.get(i), s, s, scale);
      int ox = gap + (i % columns) * (s * scale + gap);
      int oy = gap + (i / columns) * (s * scale + gap);
      out.getGraphics().drawImage(tile, ox, oy, null);
    }
    return out;
  }

  /** Writes a picture as PNG through a temporary file. */
  public static void writePng(Path file, BufferedImage image) {
    AtomicFile.write(
        file,
        out -> {
          if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer");
          }
        });
  }

  /** [-1, 1] → 0 … 255, rounded and clamped. */
  static int to255(float v) {
    int i = Math.round((v + 1f) * 127.5f);
    return Math.max(0, Math.min(255, i));
  }
}

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

  /**
   * A grid of images with their captions written under each (for sample sheets): cells of {@code
   * cellWidth} pixels, the image magnified {@code scale} times, captions wrapped over up to 3
   * lines.
   */
  public static BufferedImage captionedGrid(
      List<float[]> images, List<String> captions, int columns, int scale, int cellWidth) {
    int s = WorldRenderer.SIZE;
    int textHeight = 40;
    int cellHeight = s * scale + textHeight + 6;
    int rows = (images.size() + columns - 1) / columns;
    BufferedImage out =
        new BufferedImage(columns * cellWidth, rows * cellHeight, BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = out.createGraphics();
    g.setRenderingHint(
        java.awt.RenderingHints.KEY_TEXT_ANTIALIASING,
        java.awt.RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(java.awt.Color.WHITE);
    g.fillRect(0, 0, out.getWidth(), out.getHeight());
    g.setFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 10));
    java.awt.FontMetrics fm = g.getFontMetrics();
    for (int i = 0; i < images.size(); i++) {
      int ox = (i % columns) * cellWidth;
      int oy = (i / columns) * cellHeight;
      g.drawImage(
          toImage(images.get(i), s, s, scale), ox + (cellWidth - s * scale) / 2, oy + 2, null);
      g.setColor(java.awt.Color.DARK_GRAY);
      int line = 0;
      StringBuilder cur = new StringBuilder();
      for (String word : captions.get(i).split(" ")) {
        String next = cur.length() == 0 ? word : cur + " " + word;
        if (fm.stringWidth(next) > cellWidth - 6 && cur.length() > 0) {
          g.drawString(cur.toString(), ox + 3, oy + s * scale + 14 + 12 * line++);
          cur = new StringBuilder(word);
          if (line == 3) {
            break;
          }
        } else {
          cur = new StringBuilder(next);
        }
      }
      if (line < 3 && cur.length() > 0) {
        g.drawString(cur.toString(), ox + 3, oy + s * scale + 14 + 12 * line);
      }
    }
    g.dispose();
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

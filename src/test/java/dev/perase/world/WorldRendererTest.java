package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.geom.AffineTransform;
import java.awt.geom.Area;
import java.awt.geom.Point2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorldRendererTest {
  private static final int S = WorldRenderer.SIZE;

  @Test
  void sameSeedGivesSamePixelsLabelsAndCaption() {
    for (long seed : new long[] {0, 1, 42, -7}) {
      WorldSample a = WorldRenderer.sample(seed);
      WorldSample b = WorldRenderer.sample(seed);
      assertArrayEquals(a.chw(), b.chw());
      assertEquals(a.labels(), b.labels());
      assertEquals(a.placement(), b.placement());
      assertEquals(a.caption(), b.caption());
    }
    assertFalse(Arrays.equals(WorldRenderer.sample(1).chw(), WorldRenderer.sample(2).chw()));
  }

  @Test
  void pixelsLieInMinusOneToOne() {
    for (int i = 0; i < 50; i++) {
      for (float v : WorldRenderer.sample(i).chw()) {
        assertTrue(v >= -1f && v <= 1f, "pixel " + v);
      }
    }
  }

  /** A plain figure's interior point (deep inside the filled part) has exactly the fill colour. */
  @Test
  void plainFigureHasTheFillColourInside() {
    SplittableRandom rng = new SplittableRandom(3);
    double worst = 0;
    for (WorldShape shape : WorldShape.values()) {
      for (FillColor color : FillColor.values()) {
        Placement p = WorldRenderer.randomPlacement(rng);
        Labels labels = new Labels(shape, color, TextureStyle.PLAIN, Background.GREY);
        float[] chw = WorldRenderer.render(labels, p);
        int[] px = pixelAt(chw, p, shape.interiorPoint());
        int[] want = color.rgb();
        for (int c = 0; c < 3; c++) {
          worst = Math.max(worst, Math.abs(px[c] - want[c]));
        }
      }
    }
    assertTrue(worst <= 1, "max channel difference from the fill colour: " + worst);
  }

  /**
   * Textured figures keep the fill's hue: the interior mean is nearer its own fill than any other.
   */
  @Test
  void texturedFigureIsNearestToItsOwnFillColour() {
    SplittableRandom rng = new SplittableRandom(5);
    for (TextureStyle style : TextureStyle.values()) {
      for (FillColor color : FillColor.values()) {
        Labels labels = new Labels(WorldShape.SQUARE, color, style, Background.SAND);
        Placement p = new Placement(16, 16, 12, rng.nextDouble() - 0.5, rng.nextDouble() * 10);
        float[] chw = WorldRenderer.render(labels, p);
        double[] mean = new double[3];
        int n = 0;
        for (int y = 10; y < 22; y++) {
          for (int x = 10; x < 22; x++) {
            for (int c = 0; c < 3; c++) {
              mean[c] += (chw[c * S * S + y * S + x] + 1) * 127.5;
            }
            n++;
          }
        }
        FillColor nearest = null;
        double best = Double.MAX_VALUE;
        for (FillColor other : FillColor.values()) {
          // compare against the average of fill and shade: the texture's mean tone
          int[] f = other.rgb();
          int[] sh = other.shade();
          double d = 0;
          for (int c = 0; c < 3; c++) {
            double t = style == TextureStyle.PLAIN ? f[c] : (f[c] + sh[c]) / 2.0;
            d += Math.pow(mean[c] / n - t, 2);
          }
          if (d < best) {
            best = d;
            nearest = other;
          }
        }
        assertEquals(color, nearest, style + " " + color);
      }
    }
  }

  /**
   * The figure's area, measured from the pixels as Σ coverage with coverage = projection of (pixel
   * − background) on (fill − background), matches the outline's exact area times radius².
   */
  @Test
  void plainFigureAreaMatchesItsOutline() {
    SplittableRandom rng = new SplittableRandom(11);
    double worst = 0;
    for (WorldShape shape : WorldShape.values()) {
      for (int k = 0; k < 3; k++) {
        Placement p = WorldRenderer.randomPlacement(rng);
        Labels labels = new Labels(shape, FillColor.BLUE, TextureStyle.PLAIN, Background.SAND);
        float[] chw = WorldRenderer.render(labels, p);
        double measured = coverageSum(chw, FillColor.BLUE.rgb(), Background.SAND.rgb());
        double expected = unitArea(shape) * p.radius() * p.radius();
        double rel = Math.abs(measured - expected) / expected;
        worst = Math.max(worst, rel);
        assertTrue(rel < 0.02, shape + ": measured " + measured + " px², expected " + expected);
      }
    }
    System.out.printf("figure area: worst relative error %.4f%n", worst);
  }

  /** Every style but plain puts its shade on a good share of the interior; plain puts none. */
  @Test
  void texturesCoverAShareOfTheFigure() {
    for (TextureStyle style : TextureStyle.values()) {
      Labels labels = new Labels(WorldShape.SQUARE, FillColor.YELLOW, style, Background.GREY);
      float[] chw = WorldRenderer.render(labels, new Placement(16, 16, 12, 0.3, 1.7));
      int[] fill = FillColor.YELLOW.rgb();
      int[] shade = FillColor.YELLOW.shade();
      double shadeShare = 0;
      int n = 0;
      for (int y = 9; y < 23; y++) {
        for (int x = 9; x < 23; x++) {
          // position of the pixel between fill (0) and shade (1), on the red channel
          double v = (chw[y * S + x] + 1) * 127.5;
          shadeShare += (fill[0] - v) / (double) (fill[0] - shade[0]);
          n++;
        }
      }
      shadeShare /= n;
      if (style == TextureStyle.PLAIN) {
        assertTrue(shadeShare < 0.01, style + " shade share " + shadeShare);
      } else {
        assertTrue(shadeShare > 0.15 && shadeShare < 0.65, style + " shade share " + shadeShare);
      }
    }
  }

  @Test
  void figureNeverTouchesTheImageBorder() {
    for (int i = 0; i < 300; i++) {
      WorldSample s = WorldRenderer.sample(1000 + i);
      int[] bg = s.labels().background().rgb();
      for (int k = 0; k < S; k++) {
        for (int[] yx : new int[][] {{0, k}, {S - 1, k}, {k, 0}, {k, S - 1}}) {
          for (int c = 0; c < 3; c++) {
            double v = (s.chw()[c * S * S + yx[0] * S + yx[1]] + 1) * 127.5;
            assertEquals(bg[c], v, 1e-3, "sample " + i + " border pixel " + Arrays.toString(yx));
          }
        }
      }
    }
  }

  @Test
  void backgroundsAreMutedAndFarFromEveryFillColour() {
    for (Background b : Background.values()) {
      int[] rgb = b.rgb();
      int max = Math.max(rgb[0], Math.max(rgb[1], rgb[2]));
      int min = Math.min(rgb[0], Math.min(rgb[1], rgb[2]));
      assertTrue((max - min) / (double) max < 0.25, b + " saturation");
      for (FillColor f : FillColor.values()) {
        int[] c = f.rgb();
        double d = Math.sqrt(sq(c[0] - rgb[0]) + sq(c[1] - rgb[1]) + sq(c[2] - rgb[2]));
        assertTrue(d > 80, b + " too close to " + f + ": " + d);
      }
    }
  }

  @Test
  void samplesCoverEveryLabelValue() {
    boolean[][] seen = new boolean[4][8];
    for (int i = 0; i < 400; i++) {
      Labels l = WorldRenderer.sample(i).labels();
      seen[0][l.shape().ordinal()] = true;
      seen[1][l.color().ordinal()] = true;
      seen[2][l.style().ordinal()] = true;
      seen[3][l.background().ordinal()] = true;
    }
    int[] sizes = {
      WorldShape.values().length,
      FillColor.values().length,
      TextureStyle.values().length,
      Background.values().length
    };
    for (int k = 0; k < 4; k++) {
      for (int v = 0; v < sizes[k]; v++) {
        assertTrue(seen[k][v], "attribute " + k + " value " + v + " never drawn");
      }
    }
  }

  /** A grid of every shape × style, written as PNG and read back (for looking at by eye). */
  @Test
  void writesAPngGridOfSamples(@TempDir Path dir) throws Exception {
    List<float[]> images = new ArrayList<>();
    SplittableRandom rng = new SplittableRandom(9);
    for (TextureStyle style : TextureStyle.values()) {
      for (WorldShape shape : WorldShape.values()) {
        FillColor color = FillColor.values()[images.size() % FillColor.values().length];
        Labels l = new Labels(shape, color, style, Background.values()[images.size() % 3]);
        images.add(WorldRenderer.render(l, WorldRenderer.randomPlacement(rng)));
      }
    }
    Path png = dir.resolve("world-grid.png");
    WorldImages.writePng(png, WorldImages.grid(images, 8, 4));
    BufferedImage back = ImageIO.read(png.toFile());
    assertEquals(8 * (S * 4 + 2) + 2, back.getWidth());
    assertEquals(5 * (S * 4 + 2) + 2, back.getHeight());
    // top-left pixel of the first tile is the first image's background
    int[] bg = Background.values()[0].rgb();
    assertEquals((bg[0] << 16) | (bg[1] << 8) | bg[2], back.getRGB(2, 2) & 0xffffff);
  }

  private static int[] pixelAt(float[] chw, Placement p, Point2D unit) {
    AffineTransform t = WorldRenderer.figureTransform(p, 1);
    t.scale(p.radius(), p.radius());
    Point2D q = t.transform(unit, null);
    int x = (int) Math.floor(q.getX());
    int y = (int) Math.floor(q.getY());
    int[] out = new int[3];
    for (int c = 0; c < 3; c++) {
      out[c] = WorldImages.to255(chw[c * S * S + y * S + x]);
    }
    return out;
  }

  private static double coverageSum(float[] chw, int[] fill, int[] bg) {
    double sum = 0;
    double denom = 0;
    for (int c = 0; c < 3; c++) {
      denom += sq(fill[c] - bg[c]);
    }
    for (int i = 0; i < S * S; i++) {
      double dot = 0;
      for (int c = 0; c < 3; c++) {
        double v = (chw[c * S * S + i] + 1) * 127.5;
        dot += (v - bg[c]) * (fill[c] - bg[c]);
      }
      sum += dot / denom;
    }
    return sum;
  }

  /** Exact areas of the unit outlines; heart by a fine grid over its outline. */
  private static double unitArea(WorldShape shape) {
    switch (shape) {
      case CIRCLE:
        return Math.PI;
      case SQUARE:
        return sq(2 * WorldShape.SQUARE_HALF);
      case TRIANGLE:
        return 3 * Math.sqrt(3) / 4;
      case STAR:
        // ten triangles (centre, tip, valley), each ½·R·r·sin 36°
        return 10 * 0.5 * WorldShape.STAR_INNER * Math.sin(Math.toRadians(36));
      case CROSS:
        {
          double w = 2 * WorldShape.CROSS_HALF_WIDTH;
          double l = 2 * WorldShape.CROSS_HALF_LENGTH;
          return 2 * w * l - w * w;
        }
      case RING:
        return Math.PI * (1 - sq(WorldShape.RING_INNER));
      case CRESCENT:
        return Math.PI - lens(1, WorldShape.CRESCENT_CUT_RADIUS, WorldShape.CRESCENT_CUT_SHIFT);
      case HEART:
        return gridArea(shape.outline(), 800);
      default:
        throw new AssertionError(shape);
    }
  }

  /** Area of the intersection of two discs of radii R, r with centres d apart (d < R + r). */
  private static double lens(double bigR, double r, double d) {
    double a = sq(r) * Math.acos((sq(d) + sq(r) - sq(bigR)) / (2 * d * r));
    double b = sq(bigR) * Math.acos((sq(d) + sq(bigR) - sq(r)) / (2 * d * bigR));
    double c = 0.5 * Math.sqrt((-d + r + bigR) * (d + r - bigR) * (d - r + bigR) * (d + r + bigR));
    return a + b - c;
  }

  private static double gridArea(Area a, int n) {
    Rectangle2D box = a.getBounds2D();
    double dx = box.getWidth() / n;
    double dy = box.getHeight() / n;
    long inside = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        if (a.contains(box.getX() + (i + 0.5) * dx, box.getY() + (j + 0.5) * dy)) {
          inside++;
        }
      }
    }
    return inside * dx * dy;
  }

  private static double sq(double v) {
    return v * v;
  }
}

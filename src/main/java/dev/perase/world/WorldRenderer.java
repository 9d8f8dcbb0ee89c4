package dev.perase.world;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.util.SplittableRandom;

/**
 * Draws the world's 32×32 images with Java2D (headless). The scene is drawn at {@link #SUPERSAMPLE}
 * times the output size with antialiasing on and box-averaged down, so edges and textures are
 * smooth at 32×32. Three layers: the background colour; the texture (fill colour with a pattern in
 * the fill's {@link FillColor#shade() shade}) in the figure's rotated frame; the figure's
 * antialiased coverage α, composited as {@code out = bg·(1 − α) + texture·α}.
 *
 * <p>Texture scales are fixed in output pixels (stripe period 4, dot pitch 5, checker cell 3.5,
 * spiral arm spacing 5.5) so that each style looks the same on small and large figures.
 * Deterministic: the same labels and placement give the same pixels, and {@link #sample(long)}
 * draws everything from one {@link SplittableRandom} seeded by its argument.
 */
public final class WorldRenderer {
  public static final int SIZE = 32;
  public static final int CHANNELS = 3;

  /** Drawing resolution factor: the scene is drawn at 128×128 and averaged over 4×4 blocks. */
  public static final int SUPERSAMPLE = 4;

  /** Figure radius range in output pixels (figure size 14 … 25 px). */
  public static final double MIN_RADIUS = 7.0;

  public static final double MAX_RADIUS = 12.5;

  /** Largest rotation either way, in radians (±45°; hearts and crescents stay readable). */
  public static final double MAX_ROTATION = Math.PI / 4;

  /** How far the unit outline reaches from its centre at most (the square's corner, 0.8·√2). */
  static final double OUTLINE_REACH = 1.15;

  static final double STRIPE_PERIOD = 4.0;
  static final double DOT_PITCH = 4.5;
  static final double DOT_RADIUS = 1.4;
  static final double CHECKER_CELL = 3.5;
  static final int SPIRAL_ARMS = 3;
  static final double SPIRAL_ARM_SPACING = 5.5;

  /** Width in output pixels of the plain rim inside a textured figure's edge. */
  static final double RIM_WIDTH = 0.75;

  static {
    // Java2D needs no display for drawing into images; say so before AWT starts, unless the
    // application chose otherwise.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private WorldRenderer() {}

  /** Renders a random scene with a caption; everything depends only on {@code seed}. */
  public static WorldSample sample(long seed) {
    return sample(new SplittableRandom(seed));
  }

  /**
   * Renders a random scene with a caption, drawing labels, placement and caption from {@code rng}.
   */
  public static WorldSample sample(SplittableRandom rng) {
    Labels labels = randomLabels(rng);
    return sample(labels, rng);
  }

  /** Renders the given labels at a random placement, with a random caption for them. */
  public static WorldSample sample(Labels labels, SplittableRandom rng) {
    Placement placement = randomPlacement(rng);
    String caption = CaptionGrammar.caption(labels, rng);
    return new WorldSample(render(labels, placement), labels, placement, caption);
  }

  /** Uniform over shapes, colours, styles and backgrounds. */
  public static Labels randomLabels(SplittableRandom rng) {
    return new Labels(
        pick(WorldShape.values(), rng),
        pick(FillColor.values(), rng),
        pick(TextureStyle.values(), rng),
        pick(Background.values(), rng));
  }

  /**
   * A size, a position that keeps the whole figure inside the image, a rotation, a texture phase.
   */
  public static Placement randomPlacement(SplittableRandom rng) {
    double radius = MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * rng.nextDouble();
    double margin = radius * OUTLINE_REACH + 0.5;
    double cx = margin + (SIZE - 2 * margin) * rng.nextDouble();
    double cy = margin + (SIZE - 2 * margin) * rng.nextDouble();
    double rotation = MAX_ROTATION * (2 * rng.nextDouble() - 1);
    double phase = 12 * rng.nextDouble();
    return new Placement(cx, cy, radius, rotation, phase);
  }

  /** Pixels of the scene, (3, 32, 32) channel-major in [-1, 1]. */
  public static float[] render(Labels labels, Placement placement) {
    int n = SIZE * SUPERSAMPLE;
    int[] texture = drawTexture(labels, placement, n);
    byte[] coverage = drawCoverage(labels.shape(), placement, n);
    int[] bg = labels.background().rgb();

    // Composite at high resolution, then average 4×4 blocks: out = bg·(1 − α) + tex·α.
    float[] chw = new float[CHANNELS * SIZE * SIZE];
    float block = SUPERSAMPLE * SUPERSAMPLE;
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        float r = 0;
        float g = 0;
        float b = 0;
        for (int dy = 0; dy < SUPERSAMPLE; dy++) {
          int row = (y * SUPERSAMPLE + dy) * n;
          for (int dx = 0; dx < SUPERSAMPLE; dx++) {
            int i = row + x * SUPERSAMPLE + dx;
            float a = (coverage[i] & 0xff) / 255f;
            int t = texture[i];
            r += bg[0] * (1 - a) + ((t >> 16) & 0xff) * a;
            g += bg[1] * (1 - a) + ((t >> 8) & 0xff) * a;
            b += bg[2] * (1 - a) + (t & 0xff) * a;
          }
        }
        int p = y * SIZE + x;
        // [0, 255] → [-1, 1]
        chw[p] = r / block / 127.5f - 1f;
        chw[SIZE * SIZE + p] = g / block / 127.5f - 1f;
        chw[2 * SIZE * SIZE + p] = b / block / 127.5f - 1f;
      }
    }
    return chw;
  }

  /** The figure's frame in supersampled pixels: centre, rotation, unit outline scaled by radius. */
  static AffineTransform figureTransform(Placement p, double scale) {
    AffineTransform t = new AffineTransform();
    t.translate(p.centerX() * scale, p.centerY() * scale);
    t.rotate(p.rotation());
    return t;
  }

  /** Antialiased coverage of the figure (0 … 255) at n×n. */
  private static byte[] drawCoverage(WorldShape shape, Placement p, int n) {
    BufferedImage mask = new BufferedImage(n, n, BufferedImage.TYPE_BYTE_GRAY);
    Graphics2D g = mask.createGraphics();
    try {
      hints(g);
      g.setColor(Color.BLACK);
      g.fillRect(0, 0, n, n);
      g.transform(figureTransform(p, SUPERSAMPLE));
      double s = p.radius() * SUPERSAMPLE;
      g.scale(s, s);
      g.setColor(Color.WHITE);
      g.fill(shape.outline());
    } finally {
      g.dispose();
    }
    return ((DataBufferByte) mask.getRaster().getDataBuffer()).getData();
  }

  /**
   * The fill colour with the style's pattern in the shade colour, in the figure's frame, at n×n.
   */
  private static int[] drawTexture(Labels labels, Placement p, int n) {
    BufferedImage img = new BufferedImage(n, n, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      hints(g);
      g.setColor(color(labels.color().rgb()));
      g.fillRect(0, 0, n, n);
      g.transform(figureTransform(p, SUPERSAMPLE));
      g.scale(SUPERSAMPLE, SUPERSAMPLE); // from here on, units are output pixels
      g.setColor(color(labels.color().shade()));
      double reach = p.radius() * OUTLINE_REACH + 2;
      drawPattern(g, labels.style(), reach, p.texturePhase());
      if (labels.style() != TextureStyle.PLAIN) {
        // A rim of plain fill just inside the edge (the outer half of the stroke is cut away by the
        // coverage), so the figure's contour stays clear even where the shade is close to the
        // background.
        g.setColor(color(labels.color().rgb()));
        g.setStroke(new BasicStroke((float) (2 * RIM_WIDTH / p.radius())));
        g.scale(p.radius(), p.radius());
        g.draw(labels.shape().outline());
      }
    } finally {
      g.dispose();
    }
    return ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
  }

  /** Draws the style's pattern in the current colour over the square [−reach, reach]². */
  private static void drawPattern(Graphics2D g, TextureStyle style, double reach, double phase) {
    switch (style) {
      case PLAIN:
        return;
      case STRIPES:
        {
          // Bands of half a period, parallel to the figure's (rotated) vertical axis.
          double start = -reach - STRIPE_PERIOD + (phase % STRIPE_PERIOD);
          for (double x = start; x < reach; x += STRIPE_PERIOD) {
            g.fill(new Rectangle2D.Double(x, -reach, STRIPE_PERIOD / 2, 2 * reach));
          }
          return;
        }
      case DOTS:
        {
          // Staggered rows (every other row shifted by half a pitch).
          double off = phase % DOT_PITCH;
          int row = 0;
          for (double y = -reach - DOT_PITCH + off; y < reach + DOT_PITCH; y += DOT_PITCH, row++) {
            double shift = (row % 2) * DOT_PITCH / 2;
            for (double x = -reach - DOT_PITCH + off + shift;
                x < reach + DOT_PITCH;
                x += DOT_PITCH) {
              g.fill(
                  new Ellipse2D.Double(
                      x - DOT_RADIUS, y - DOT_RADIUS, 2 * DOT_RADIUS, 2 * DOT_RADIUS));
            }
          }
          return;
        }
      case CHECKER:
        {
          double off = phase % (2 * CHECKER_CELL);
          int cells = (int) Math.ceil(2 * reach / CHECKER_CELL) + 3;
          double x0 = -reach - 2 * CHECKER_CELL + off;
          for (int i = 0; i < cells; i++) {
            for (int j = 0; j < cells; j++) {
              if ((i + j) % 2 == 1) {
                g.fill(
                    new Rectangle2D.Double(
                        x0 + i * CHECKER_CELL, x0 + j * CHECKER_CELL, CHECKER_CELL, CHECKER_CELL));
              }
            }
          }
          return;
        }
      case SWIRL:
        {
          // m-armed Archimedean spiral r = b·θ; arms 2π/m apart, so neighbouring arms are 2π·b/m
          // apart along any ray: b = m·spacing / 2π. Stroke width is half the spacing.
          double b = SPIRAL_ARMS * SPIRAL_ARM_SPACING / (2 * Math.PI);
          double thetaMax = reach / b + Math.PI;
          g.setStroke(
              new BasicStroke(
                  (float) (SPIRAL_ARM_SPACING / 2), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
          for (int arm = 0; arm < SPIRAL_ARMS; arm++) {
            Path2D path = new Path2D.Double();
            double a0 = phase + arm * 2 * Math.PI / SPIRAL_ARMS;
            path.moveTo(0, 0);
            // 0.12 rad steps: the chord strays < r·(1 − cos 0.06) ≈ 0.03 px from the curve
            for (double th = 0.12; th <= thetaMax; th += 0.12) {
              double r = b * th;
              path.lineTo(r * Math.cos(th + a0), r * Math.sin(th + a0));
            }
            g.draw(path);
          }
          return;
        }
      default:
        throw new AssertionError(style);
    }
  }

  private static void hints(Graphics2D g) {
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
  }

  private static Color color(int[] rgb) {
    return new Color(rgb[0], rgb[1], rgb[2]);
  }

  private static <T> T pick(T[] values, SplittableRandom rng) {
    return values[rng.nextInt(values.length)];
  }
}

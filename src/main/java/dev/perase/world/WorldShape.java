package dev.perase.world;

import java.awt.geom.Area;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Point2D;
import java.awt.geom.Rectangle2D;
import java.util.List;
import java.util.Locale;

/**
 * The figures of the world. Each outline lives in unit coordinates: centred on the origin, inside
 * the circle of radius 1, y pointing down (as on screen). The renderer scales it by half the
 * figure's size in pixels and rotates it.
 */
public enum WorldShape {
  CIRCLE(List.of(Wording.noun("circle"), Wording.noun("disc"), Wording.noun("orb"))),
  SQUARE(List.of(Wording.noun("square"), Wording.noun("block"), Wording.noun("tile"))),
  TRIANGLE(List.of(Wording.noun("triangle"), Wording.noun("wedge"), Wording.noun("trigon"))),
  STAR(List.of(Wording.noun("star"), Wording.noun("five-pointed star"), Wording.noun("pentagram"))),
  HEART(List.of(Wording.noun("heart"), Wording.noun("love heart"), Wording.noun("valentine"))),
  CROSS(List.of(Wording.noun("cross"), Wording.noun("plus sign"), Wording.noun("greek cross"))),
  RING(List.of(Wording.noun("ring"), Wording.noun("hoop"), Wording.noun("donut"))),
  CRESCENT(
      List.of(Wording.noun("crescent"), Wording.noun("crescent moon"), Wording.noun("sickle")));

  /** Half side of the square: side 1.6, so its area 2.56 is close to the unit disc's π. */
  static final double SQUARE_HALF = 0.8;

  /**
   * Inner radius of the star, relative to its outer radius 1 (fatter than a regular star's 0.38).
   */
  static final double STAR_INNER = 0.45;

  /** Half thickness and half length of the cross's arms. */
  static final double CROSS_HALF_WIDTH = 0.3;

  static final double CROSS_HALF_LENGTH = 0.9;

  /** Hole of the ring, relative to its outer radius 1. */
  static final double RING_INNER = 0.55;

  /** The crescent is the unit disc minus a disc of this radius moved right by this much. */
  static final double CRESCENT_CUT_RADIUS = 0.8;

  static final double CRESCENT_CUT_SHIFT = 0.45;

  private final List<Wording> wordings;

  WorldShape(List<Wording> wordings) {
    this.wordings = wordings;
  }

  /** The canonical name, as used on the command line: {@code star}. */
  public String conceptName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Every noun the grammar uses for this figure; the first is its own word. */
  public List<Wording> wordings() {
    return wordings;
  }

  public Concept concept() {
    return new Concept(ConceptKind.SHAPE, conceptName());
  }

  /** The outline in unit coordinates (radius 1, centred on the origin, y down). */
  public Area outline() {
    switch (this) {
      case CIRCLE:
        return new Area(disc(0, 0, 1));
      case SQUARE:
        return new Area(
            new Rectangle2D.Double(-SQUARE_HALF, -SQUARE_HALF, 2 * SQUARE_HALF, 2 * SQUARE_HALF));
      case TRIANGLE:
        return new Area(regularStar(3, 1, 1, -Math.PI / 2));
      case STAR:
        return new Area(regularStar(5, 1, STAR_INNER, -Math.PI / 2));
      case HEART:
        return heart();
      case CROSS:
        {
          Area a =
              new Area(
                  new Rectangle2D.Double(
                      -CROSS_HALF_LENGTH,
                      -CROSS_HALF_WIDTH,
                      2 * CROSS_HALF_LENGTH,
                      2 * CROSS_HALF_WIDTH));
          a.add(
              new Area(
                  new Rectangle2D.Double(
                      -CROSS_HALF_WIDTH,
                      -CROSS_HALF_LENGTH,
                      2 * CROSS_HALF_WIDTH,
                      2 * CROSS_HALF_LENGTH)));
          return a;
        }
      case RING:
        {
          Area a = new Area(disc(0, 0, 1));
          a.subtract(new Area(disc(0, 0, RING_INNER)));
          return a;
        }
      case CRESCENT:
        {
          Area a = new Area(disc(0, 0, 1));
          a.subtract(new Area(disc(CRESCENT_CUT_SHIFT, 0, CRESCENT_CUT_RADIUS)));
          return a;
        }
      default:
        throw new AssertionError(this);
    }
  }

  /**
   * A point well inside the filled part, in unit coordinates: the centre for most figures, but the
   * middle of the band for the ring and of the thick part for the crescent (their centres are
   * empty).
   */
  public Point2D interiorPoint() {
    switch (this) {
      case RING:
        return new Point2D.Double((1 + RING_INNER) / 2, 0);
      case CRESCENT:
        return new Point2D.Double(-(1 + CRESCENT_CUT_RADIUS - CRESCENT_CUT_SHIFT) / 2, 0);
      case HEART:
        return new Point2D.Double(0, 0.1);
      default:
        return new Point2D.Double(0, 0);
    }
  }

  private static Ellipse2D disc(double cx, double cy, double r) {
    return new Ellipse2D.Double(cx - r, cy - r, 2 * r, 2 * r);
  }

  /** A star polygon with {@code points} tips at radius {@code outer}, valleys at {@code inner}. */
  private static Path2D regularStar(int points, double outer, double inner, double start) {
    Path2D p = new Path2D.Double();
    boolean convex = inner >= outer;
    int n = convex ? points : 2 * points;
    for (int i = 0; i < n; i++) {
      double r = convex || i % 2 == 0 ? outer : inner;
      double a = start + i * 2 * Math.PI / n;
      if (i == 0) {
        p.moveTo(r * Math.cos(a), r * Math.sin(a));
      } else {
        p.lineTo(r * Math.cos(a), r * Math.sin(a));
      }
    }
    p.closePath();
    return p;
  }

  /** Two lobes (discs of radius 0.5) on a wedge that ends in the bottom point (0, 0.95). */
  private static Area heart() {
    double r = 0.5;
    double lobeX = 0.45;
    double lobeY = -0.35;
    Area a = new Area(disc(-lobeX, lobeY, r));
    a.add(new Area(disc(lobeX, lobeY, r)));
    // The wedge runs from a point 40° below each lobe's outer side down to the tip.
    double t = Math.toRadians(40);
    Path2D w = new Path2D.Double();
    w.moveTo(-lobeX - r * Math.cos(t), lobeY + r * Math.sin(t));
    w.lineTo(0, 0.95);
    w.lineTo(lobeX + r * Math.cos(t), lobeY + r * Math.sin(t));
    w.lineTo(lobeX, lobeY);
    w.lineTo(-lobeX, lobeY);
    w.closePath();
    a.add(new Area(w));
    return a;
  }
}

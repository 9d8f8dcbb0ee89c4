package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import java.math.BigDecimal;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One method's sweep of the matched-point study ({@link FullStudy}): the knob that sets its erasure
 * strength and the points it takes, every other setting the same along the sweep.
 *
 * @param method a trained method (ESD, AC, P-ESD, P-AC, …; not UCE or NP-ESD)
 * @param knob what varies along the sweep
 * @param points the points in the knob's order (the chart's line follows it)
 */
public record Sweep(
    @JsonProperty("method") EraseMethod method,
    @JsonProperty("knob") Knob knob,
    @JsonProperty("points") List<Point> points) {

  /** What varies along a sweep. */
  public enum Knob {
    @JsonProperty("learning_rate")
    LEARNING_RATE("lr"),
    @JsonProperty("prune_ratio")
    PRUNE_RATIO("ρ"),
    @JsonProperty("steps")
    STEPS("steps");

    private final String symbol;

    Knob(String symbol) {
      this.symbol = symbol;
    }

    /** The knob as the chart and tables write it: {@code lr}, {@code ρ}, {@code steps}. */
    public String symbol() {
      return symbol;
    }

    /** The knob's value at {@code p}, as written in a label and a folder name. */
    String value(Point p) {
      return switch (this) {
        case LEARNING_RATE -> number(p.learningRate());
        case PRUNE_RATIO -> number(p.pruneRatio());
        case STEPS -> Integer.toString(p.steps());
      };
    }

    private String folderPrefix() {
      return switch (this) {
        case LEARNING_RATE -> "lr";
        case PRUNE_RATIO -> "rho";
        case STEPS -> "steps";
      };
    }
  }

  /**
   * One erasing run of a sweep.
   *
   * @param steps optimisation steps
   * @param learningRate AdamW's learning rate, or null for the method's default
   * @param pruneRatio P-ESD and P-AC's pruning budget ρ, or null for none (τ alone)
   */
  public record Point(
      @JsonProperty("steps") int steps,
      @JsonProperty("learning_rate") Double learningRate,
      @JsonProperty("prune_ratio") Double pruneRatio) {
    public Point {
      if (steps < 1) {
        throw new BadInputException("a sweep point needs at least one step, got " + steps);
      }
      if (learningRate != null && !(learningRate > 0 && Double.isFinite(learningRate))) {
        throw new BadInputException("a sweep point's learning rate must be positive");
      }
      if (pruneRatio != null && !(pruneRatio > 0 && pruneRatio <= 1)) {
        throw new BadInputException("a sweep point's pruning budget must lie in (0, 1]");
      }
    }
  }

  public Sweep {
    if (method == null || knob == null) {
      throw new BadInputException("a sweep needs a method and a knob");
    }
    if (method.closedForm() || method == EraseMethod.NP_ESD) {
      throw new BadInputException(
          "a sweep varies a trained method's strength; " + method.json() + " is not trained");
    }
    if (points == null || points.isEmpty()) {
      throw new BadInputException("the sweep of " + method.json() + " has no points");
    }
    points = List.copyOf(points);
    if (knob == Knob.PRUNE_RATIO && !method.pruning()) {
      throw new BadInputException(
          "only p-esd and p-ac have a pruning budget to sweep, not " + method.json());
    }
    Set<String> names = new HashSet<>();
    Point first = points.get(0);
    for (Point p : points) {
      if ((knob == Knob.LEARNING_RATE && p.learningRate() == null)
          || (knob == Knob.PRUNE_RATIO && p.pruneRatio() == null)) {
        throw new BadInputException(
            "every point of a " + knob.symbol() + " sweep must set " + knob.symbol());
      }
      boolean sameElsewhere =
          (knob == Knob.STEPS || p.steps() == first.steps())
              && (knob == Knob.LEARNING_RATE || same(p.learningRate(), first.learningRate()))
              && (knob == Knob.PRUNE_RATIO || same(p.pruneRatio(), first.pruneRatio()));
      if (!sameElsewhere) {
        throw new BadInputException(
            "the points of the " + method.json() + " sweep may differ only in " + knob.symbol());
      }
      if (!names.add(knob.value(p))) {
        throw new BadInputException(
            "the "
                + method.json()
                + " sweep has "
                + knob.symbol()
                + " "
                + knob.value(p)
                + " twice");
      }
    }
  }

  private static boolean same(Double a, Double b) {
    return a == null ? b == null : a.equals(b);
  }

  /**
   * The point's folder under the method's: {@code lr-3e-4}, {@code rho-1.5e-2}, {@code steps-300}.
   */
  public String folder(Point p) {
    return knob.folderPrefix() + "-" + knob.value(p);
  }

  /** The point as a chart or table labels it: {@code ρ 1.5e-2}. */
  public String label(Point p) {
    return knob.symbol() + " " + knob.value(p);
  }

  /** The point whose folder is {@code folder}, or null. */
  public Point point(String folder) {
    for (Point p : points) {
      if (folder(p).equals(folder)) {
        return p;
      }
    }
    return null;
  }

  /**
   * A positive number in its shortest exact form: {@code 1e-5}, {@code 1.5e-2}, {@code 3e-4},
   * {@code 0.1} as {@code 1e-1}; {@code 1} for one.
   */
  static String number(double v) {
    BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
    int exponent = d.precision() - d.scale() - 1;
    String mantissa = d.movePointLeft(exponent).toPlainString();
    return exponent == 0 ? mantissa : mantissa + "e" + exponent;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s over %s (%d points)", method.json(), knob, points.size());
  }
}

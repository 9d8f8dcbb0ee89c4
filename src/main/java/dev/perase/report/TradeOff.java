package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * A test bed's trade-off chart: robustness (y, e.g. the CER under UnlearnDiff) against the damage
 * done to what the model should keep (x, e.g. the retain Fréchet distance to the base model), one
 * line per method through its points. A method run once is one point; a sweep of one knob (a
 * learning rate, a number of steps) is a polyline in the knob's order, each point labelled with its
 * value.
 *
 * @param title the chart's heading
 * @param xLabel the x axis' title
 * @param yLabel the y axis' title
 * @param series one per method (the base model may be one with a single point)
 */
public record TradeOff(
    @JsonProperty("title") String title,
    @JsonProperty("x_label") String xLabel,
    @JsonProperty("y_label") String yLabel,
    @JsonProperty("series") List<Series> series) {
  public TradeOff {
    if (title == null || title.isBlank()) {
      throw new BadInputException("a trade-off chart needs a title");
    }
    series = series == null ? List.of() : List.copyOf(series);
  }

  /**
   * One method's line.
   *
   * @param method the method as shown ({@code P-ESD})
   * @param knob what varies along the line ({@code learning rate}), or null for a single run
   * @param points in the knob's order
   */
  public record Series(
      @JsonProperty("method") String method,
      @JsonProperty("knob") String knob,
      @JsonProperty("points") List<Point> points) {
    public Series {
      if (method == null || method.isBlank()) {
        throw new BadInputException("a trade-off series needs a method name");
      }
      if (points == null || points.isEmpty()) {
        throw new BadInputException("trade-off series " + method + " has no points");
      }
      points = List.copyOf(points);
    }
  }

  /**
   * One model: its x and y, and the knob's value that made it ({@code 0.1}), or null.
   *
   * @param x the x value (finite)
   * @param y the y value (finite)
   * @param label the knob's value, drawn beside the point, or null
   */
  public record Point(
      @JsonProperty("x") double x,
      @JsonProperty("y") double y,
      @JsonProperty("label") String label) {
    public Point {
      if (!Double.isFinite(x) || !Double.isFinite(y)) {
        throw new BadInputException("a trade-off point needs finite x and y, got " + x + ", " + y);
      }
    }
  }

  /** Whether the chart has a point to draw. */
  public boolean isEmpty() {
    return series.isEmpty();
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * A row of concept-neuron heat maps (the paper's Fig. 3): e.g. the base model, ESD, ESD under
 * attack and P-ESD under attack on one prompt, one neuron. All panels share one colour scale, so
 * that a neuron that ESD switches off and an attack switches back on looks it.
 *
 * @param title the figure's heading
 * @param caption which layer and neuron, which prompt and step, or null
 * @param panels the panels, left to right
 * @param low the activation drawn blue, or null for the smallest value of all panels
 * @param high the activation drawn red, or null for the largest value of all panels
 */
public record HeatMapFigure(
    @JsonProperty("title") String title,
    @JsonProperty("caption") String caption,
    @JsonProperty("panels") List<HeatMapPanel> panels,
    @JsonProperty("low") Double low,
    @JsonProperty("high") Double high) {
  public HeatMapFigure {
    if (title == null || title.isBlank()) {
      throw new BadInputException("a heat-map figure needs a title");
    }
    if (panels == null || panels.isEmpty()) {
      throw new BadInputException("heat-map figure '" + title + "' has no panels");
    }
    panels = List.copyOf(panels);
    if (low != null && high != null && !(low < high)) {
      throw new BadInputException(
          "heat-map figure '" + title + "': low (" + low + ") must be below high (" + high + ")");
    }
  }

  /** The colour scale {low, high}: the given bounds, else the range of all panels' values. */
  public double[] range() {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (HeatMapPanel p : panels) {
      for (double[] row : p.map()) {
        for (double v : row) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    return new double[] {low != null ? low : lo, high != null ? high : hi};
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * One panel of a concept-neuron figure (the paper's Fig. 3): a generated image and the activation
 * map (H', W') of a concept neuron recorded while it was generated, overlaid on it.
 *
 * @param label what the panel shows, e.g. {@code ESD + UnlearnDiff}
 * @param image the generated image file
 * @param map the neuron's activation, rows of equal length, finite values
 */
public record HeatMapPanel(
    @JsonProperty("label") String label,
    @JsonProperty("image") String image,
    @JsonProperty("map") double[][] map) {
  public HeatMapPanel {
    if (label == null) {
      label = "";
    }
    if (image == null || image.isBlank()) {
      throw new BadInputException("heat-map panel '" + label + "' needs an image file");
    }
    HeatMap.checkMap(map, "heat-map panel '" + label + "'");
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * Neuron sensitivity per denoising step (the paper's Figs. 2, 5 and 7): for each erased model, the
 * sensitivity {@code |a_l^k(x, c) − a_l^k(x, c_adv)|} (Eq. 5) of its concept neurons and of the
 * other neurons.
 *
 * @param caption what was measured (prompt pairs, neurons, steps), or null
 * @param steps the denoising steps measured, in order
 * @param series one series per (method, neuron group), each with one value per step
 */
public record Sensitivity(
    @JsonProperty("caption") String caption,
    @JsonProperty("steps") List<Integer> steps,
    @JsonProperty("series") List<SensitivitySeries> series) {
  public Sensitivity {
    if (steps == null || steps.isEmpty() || series == null || series.isEmpty()) {
      throw new BadInputException("a sensitivity figure needs steps and series");
    }
    steps = List.copyOf(steps);
    series = List.copyOf(series);
    for (SensitivitySeries s : series) {
      if (s.mean().size() != steps.size()) {
        throw new BadInputException(
            "sensitivity series "
                + s.label()
                + " has "
                + s.mean().size()
                + " values for "
                + steps.size()
                + " steps");
      }
    }
  }
}

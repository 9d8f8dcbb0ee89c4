package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * Neuron sensitivity (the paper's Eq. 5) of one group of neurons in one erased model, per denoising
 * step: the mean over prompt pairs and neurons, and optionally its standard deviation.
 *
 * @param method the erased model, e.g. {@code ESD} or {@code P-ESD}
 * @param neurons {@code concept} or {@code non-concept}
 * @param mean the mean sensitivity per step (in the order of {@link Sensitivity#steps()})
 * @param std its standard deviation per step, or null
 */
public record SensitivitySeries(
    @JsonProperty("method") String method,
    @JsonProperty("neurons") String neurons,
    @JsonProperty("mean") List<Double> mean,
    @JsonProperty("std") List<Double> std) {
  public SensitivitySeries {
    if (method == null || method.isBlank() || neurons == null || neurons.isBlank()) {
      throw new BadInputException("a sensitivity series needs a method and a neuron group");
    }
    if (mean == null || mean.isEmpty()) {
      throw new BadInputException("sensitivity series " + label(method, neurons) + " is empty");
    }
    finite(mean, method, neurons);
    mean = List.copyOf(mean);
    if (std != null) {
      if (std.size() != mean.size()) {
        throw new BadInputException(
            "sensitivity series "
                + label(method, neurons)
                + " has "
                + mean.size()
                + " means but "
                + std.size()
                + " deviations");
      }
      finite(std, method, neurons);
      std = List.copyOf(std);
    }
  }

  /** The legend entry, e.g. {@code P-ESD concept}. */
  public String label() {
    return label(method, neurons);
  }

  private static String label(String method, String neurons) {
    return method + " " + neurons;
  }

  private static void finite(List<Double> values, String method, String neurons) {
    for (Double v : values) {
      if (v == null || !Double.isFinite(v)) {
        throw new BadInputException(
            "sensitivity series "
                + label(method, neurons)
                + " holds a missing or non-finite value");
      }
    }
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * Where one mask pruned (the paper's Fig. 6(b-c)): the pruned count of each masked layer, charted
 * as the layer's share of all pruned weights and coloured by layer type.
 *
 * @param method the pruning method, e.g. {@code P-ESD}
 * @param caption which selection and concept, or null
 * @param layers the layers in model order
 */
public record PrunedWeights(
    @JsonProperty("method") String method,
    @JsonProperty("caption") String caption,
    @JsonProperty("layers") List<LayerPruning> layers) {
  public PrunedWeights {
    if (method == null || method.isBlank()) {
      throw new BadInputException("pruned weights by layer need the method's name");
    }
    if (layers == null || layers.isEmpty()) {
      throw new BadInputException("pruned weights of " + method + " list no layers");
    }
    layers = List.copyOf(layers);
  }

  /** Pruned elements over all layers. */
  public long prunedCount() {
    long n = 0;
    for (LayerPruning l : layers) {
      n += l.pruned();
    }
    return n;
  }

  /** Masked elements over all layers. */
  public long totalCount() {
    long n = 0;
    for (LayerPruning l : layers) {
      n += l.total();
    }
    return n;
  }
}

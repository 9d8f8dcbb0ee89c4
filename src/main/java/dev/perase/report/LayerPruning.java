package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * The pruned weights of one layer (the paper's Fig. 6(b-c)).
 *
 * @param layer the layer as shown, e.g. {@code down_blocks.1.attentions.0…attn2.to_v}
 * @param type its type, which colours its bar, e.g. {@code attn2} or {@code resnet}
 * @param pruned pruned elements of the layer
 * @param total the layer's masked elements
 */
public record LayerPruning(
    @JsonProperty("layer") String layer,
    @JsonProperty("type") String type,
    @JsonProperty("pruned") long pruned,
    @JsonProperty("total") long total) {
  public LayerPruning {
    if (layer == null || layer.isBlank()) {
      throw new BadInputException("a pruned-layer entry needs the layer's name");
    }
    type = type == null || type.isBlank() ? "other" : type;
    if (total < 1 || pruned < 0 || pruned > total) {
      throw new BadInputException(
          "layer "
              + layer
              + ": pruned ("
              + pruned
              + ") must lie in [0, total], total ("
              + total
              + ") ≥ 1");
    }
  }

  /** Pruned over masked elements of this layer. */
  public double ratio() {
    return (double) pruned / total;
  }
}

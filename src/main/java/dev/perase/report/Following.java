package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * How often a model's images of the retain prompts show one attribute the prompt asks for (the
 * detector's top label equals the asked one).
 *
 * @param attribute {@code shape}, {@code color}, {@code style}
 * @param asked images whose prompt asks for this attribute
 * @param share the share of those that show it, in [0, 1]; null when none asks
 * @param bounds its 95 % interval, or null
 */
public record Following(
    @JsonProperty("attribute") String attribute,
    @JsonProperty("asked") int asked,
    @JsonProperty("share") Double share,
    @JsonProperty("bounds") Bounds bounds) {
  public Following {
    if (attribute == null || attribute.isBlank()) {
      throw new BadInputException("prompt following needs an attribute name");
    }
    if (asked < 0 || (share != null && !(share >= 0 && share <= 1))) {
      throw new BadInputException(attribute + ": share must lie in [0, 1], got " + share);
    }
  }
}

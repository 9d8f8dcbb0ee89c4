package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * What the text encoder reads at the adversarial positions while the relaxed rows p (k × V, each on
 * the simplex) are optimised; either way it is a (k × V) matrix times the token-embedding table, so
 * gradients reach p.
 */
public enum Relaxation {
  /**
   * The UnlearnDiff code's estimator: a one-hot h drawn from each row (token v with probability
   * p_v), so the loss is always that of real tokens; straight-through gradient ∂L/∂p := clip(∂L/∂h,
   * −1, 1) (the code's hardtanh).
   */
  SAMPLED("sampled"),
  /** The rows themselves: the embedding is the p-weighted mean of the token embeddings. */
  SOFT("soft");

  private final String label;

  Relaxation(String label) {
    this.label = label;
  }

  @JsonValue
  public String label() {
    return label;
  }

  @JsonCreator
  public static Relaxation parse(String text) {
    String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    for (Relaxation r : values()) {
      if (r.label.equals(t)) {
        return r;
      }
    }
    throw new BadInputException("unknown relaxation '" + text + "'; use sampled or soft");
  }
}

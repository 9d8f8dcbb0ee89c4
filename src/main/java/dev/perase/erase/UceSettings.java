package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * Every setting of a UCE edit ({@link Uce}; Gandikota et al. 2024, "Unified Concept Editing in
 * Diffusion Models"), written to {@code config.json} and the weights' metadata.
 *
 * @param concept the concept prompt c to erase
 * @param guide the guide concept its embeddings are mapped onto ("" = the unconditional, UCE's
 *     default for erasing)
 * @param preserve concepts whose outputs are kept: W c_j = W_old c_j. As in UCE's code, no list
 *     given means the empty prompt "" alone
 * @param eraseScale weight of the erased concepts' squared errors
 * @param preserveScale weight of the preserved concepts' squared errors
 * @param lambda λ of the regulariser λ‖W − W_old‖², which keeps W near the original (> 0, so the
 *     normal equations are positive definite)
 */
public record UceSettings(
    @JsonProperty("concept") String concept,
    @JsonProperty("guide") String guide,
    @JsonProperty("preserve") List<String> preserve,
    @JsonProperty("erase_scale") double eraseScale,
    @JsonProperty("preserve_scale") double preserveScale,
    @JsonProperty("lambda") double lambda) {

  /** Erase and preserve scales 1, λ = 0.5 (the UCE script's λ). */
  public static UceSettings defaults(String concept) {
    return new UceSettings(concept, "", List.of(""), 1, 1, 0.5);
  }

  public UceSettings {
    if (concept == null || concept.isBlank()) {
      throw new BadInputException("--concept must name the concept to erase");
    }
    guide = guide == null ? "" : guide;
    preserve = preserve == null || preserve.isEmpty() ? List.of("") : List.copyOf(preserve);
    if (!Double.isFinite(eraseScale) || !(eraseScale > 0)) {
      throw new BadInputException("--erase-scale must be a positive number, got " + eraseScale);
    }
    if (!Double.isFinite(preserveScale) || preserveScale < 0) {
      throw new BadInputException(
          "--preserve-scale must be a finite number ≥ 0, got " + preserveScale);
    }
    if (!Double.isFinite(lambda) || !(lambda > 0)) {
      throw new BadInputException("--lambda must be a positive number, got " + lambda);
    }
  }

  /**
   * The concepts of {@code --preserve "a;b;c"}: split at semicolons, blanks dropped; null or blank
   * text gives the empty list (which {@link UceSettings} turns into UCE's default, "").
   */
  public static List<String> parsePreserve(String text) {
    List<String> out = new ArrayList<>();
    if (text != null) {
      for (String part : text.split(";")) {
        if (!part.isBlank()) {
          out.add(part.strip());
        }
      }
    }
    return out;
  }

  public UceSettings withGuide(String g) {
    return new UceSettings(concept, g, preserve, eraseScale, preserveScale, lambda);
  }

  public UceSettings withPreserve(List<String> p) {
    return new UceSettings(concept, guide, p, eraseScale, preserveScale, lambda);
  }

  public UceSettings withScales(double erase, double keep, double l) {
    return new UceSettings(concept, guide, preserve, erase, keep, l);
  }
}

package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where the time of one prompt's attack went, in seconds: the original model's reference run, the
 * attacked model's pre-attack image, the token optimisation, the attempts' images and the detector.
 */
public record PromptTiming(
    @JsonProperty("index") int index,
    @JsonProperty("reference_seconds") double reference,
    @JsonProperty("pre_attack_seconds") double preAttack,
    @JsonProperty("optimisation_seconds") double optimisation,
    @JsonProperty("generation_seconds") double generation,
    @JsonProperty("detector_seconds") double detector,
    @JsonProperty("attempts") int attempts) {
  /** Every part together. */
  public double total() {
    return reference + preAttack + optimisation + generation + detector;
  }

  /** Seconds spent generating images: the reference, the pre-attack image and the attempts'. */
  public double allGeneration() {
    return reference + preAttack + generation;
  }
}

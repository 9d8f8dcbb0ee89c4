package dev.perase.scheduler;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;

/**
 * Which sampler runs the denoising loop of an image: DDIM (η = 0, {@link DdimScheduler}) or
 * diffusers' linear multistep sampler ({@link LmsDiscreteScheduler}, the one UnlearnDiff and the
 * paper's evaluations use). Both start from the same seeded noise.
 */
public enum Sampler {
  DDIM("ddim"),
  LMS("lms");

  private final String text;

  Sampler(String text) {
    this.text = text;
  }

  /** The spelling on the command line and in {@code config.json}. */
  @JsonValue
  public String text() {
    return text;
  }

  /** Parses "ddim" or "lms" (any case); anything else is bad input naming the choices. */
  @JsonCreator
  public static Sampler parse(String text) {
    for (Sampler s : values()) {
      if (s.text.equalsIgnoreCase(text)) {
        return s;
      }
    }
    throw new BadInputException("unknown sampler '" + text + "' (supported: ddim, lms)");
  }

  @Override
  public String toString() {
    return text;
  }
}

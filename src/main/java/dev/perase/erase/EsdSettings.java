package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * Settings of the ESD objective (Gandikota et al. 2023; paper Eq. 2), with the original code's
 * defaults ({@code train-esd.py}): negative guidance η = 1, x_t sampled at start guidance 3 along a
 * 50-step DDIM loop.
 *
 * @param negativeGuidance η of Eq. 2: target = ε*(x_t, c₀, t) − η [ε*(x_t, c, t) − ε*(x_t, c₀, t)]
 * @param startGuidance classifier-free guidance of the DDIM sampling that produces x_t
 * @param ddimSteps length N of the DDIM loop x_t is taken from (ESD: 50); the loss timestep is
 *     drawn inside the stretch of the 1000 training timesteps that the chosen DDIM step covers
 * @param xtSource which model samples x_t: the model being erased (ESD) or the frozen original
 */
public record EsdSettings(
    @JsonProperty("negative_guidance") double negativeGuidance,
    @JsonProperty("start_guidance") double startGuidance,
    @JsonProperty("ddim_steps") int ddimSteps,
    @JsonProperty("xt_source") XtSource xtSource) {

  /** The original ESD: η = 1, start guidance 3, 50 DDIM steps, x_t from the model being erased. */
  public static final EsdSettings DEFAULT = new EsdSettings(1, 3, 50, XtSource.ERASED);

  /** Which model DDIM-samples the x_t of a step. */
  public enum XtSource {
    /** The model being erased, with its current mask or weights (the original ESD code). */
    ERASED("erased"),
    /** The frozen original model θ* (masks off, original weights). */
    FROZEN("frozen");

    private final String json;

    XtSource(String json) {
      this.json = json;
    }

    @JsonValue
    public String json() {
      return json;
    }

    @JsonCreator
    public static XtSource parse(String text) {
      for (XtSource s : values()) {
        if (s.json.equals(text == null ? null : text.strip().toLowerCase(Locale.ROOT))) {
          return s;
        }
      }
      throw new BadInputException("unknown x_t source '" + text + "'; choose erased or frozen");
    }
  }

  public EsdSettings {
    if (!Double.isFinite(negativeGuidance) || negativeGuidance < 0) {
      throw new BadInputException(
          "ESD negative guidance η must be a finite number ≥ 0, got " + negativeGuidance);
    }
    if (!Double.isFinite(startGuidance) || startGuidance < 0) {
      throw new BadInputException(
          "ESD start guidance must be a finite number ≥ 0, got " + startGuidance);
    }
    if (ddimSteps < 1 || ddimSteps > 1000) {
      throw new BadInputException("ESD's DDIM steps must be between 1 and 1000, got " + ddimSteps);
    }
    if (xtSource == null) {
      throw new BadInputException("ESD needs an x_t source: erased or frozen");
    }
  }

  public EsdSettings withDdimSteps(int n) {
    return new EsdSettings(negativeGuidance, startGuidance, n, xtSource);
  }

  public EsdSettings withXtSource(XtSource s) {
    return new EsdSettings(negativeGuidance, startGuidance, ddimSteps, s);
  }

  public EsdSettings withNegativeGuidance(double eta) {
    return new EsdSettings(eta, startGuidance, ddimSteps, xtSource);
  }

  public EsdSettings withStartGuidance(double g) {
    return new EsdSettings(negativeGuidance, g, ddimSteps, xtSource);
  }
}

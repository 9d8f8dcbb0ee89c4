package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * Concept Erasure Rate (paper §4.1): the share of prompts whose image the detector does not flag,
 * {@code CER = (N − flagged) / N}. 1 means the concept never appeared; a base model that draws the
 * concept well scores near 0. JSON carries it with its Wilson 95 % interval ({@link #interval},
 * {@code cer_interval}): over 3 prompts a CER of 1.00 only says that the rate lies in [0.44, 1].
 *
 * @param prompts N, the prompts evaluated
 * @param flagged how many of their images the detector flags
 * @param rate the CER in [0, 1]
 */
public record ConceptErasureRate(
    @JsonProperty("prompts") int prompts,
    @JsonProperty("flagged") int flagged,
    @JsonProperty("cer") double rate) {
  public ConceptErasureRate {
    if (prompts < 1 || flagged < 0 || flagged > prompts) {
      throw new IllegalArgumentException(flagged + " flagged of " + prompts + " prompts");
    }
  }

  /** The Wilson 95 % interval of the rate: the unflagged prompts out of all ({@link Interval}). */
  @JsonProperty("cer_interval")
  public Interval interval() {
    return Interval.wilson(prompts - flagged, prompts);
  }

  /** The CER of per-prompt results. */
  public static ConceptErasureRate of(List<PromptResult> results) {
    if (results.isEmpty()) {
      throw new BadInputException("a concept erasure rate needs at least one prompt");
    }
    int flagged = 0;
    for (PromptResult r : results) {
      if (r.flagged()) {
        flagged++;
      }
    }
    return counted(results.size(), flagged);
  }

  /** The CER of verdicts. */
  public static ConceptErasureRate ofVerdicts(List<Verdict> verdicts) {
    if (verdicts.isEmpty()) {
      throw new BadInputException("a concept erasure rate needs at least one prompt");
    }
    int flagged = 0;
    for (Verdict v : verdicts) {
      if (v.flagged()) {
        flagged++;
      }
    }
    return counted(verdicts.size(), flagged);
  }

  private static ConceptErasureRate counted(int n, int flagged) {
    return new ConceptErasureRate(n, flagged, (n - flagged) / (double) n);
  }
}

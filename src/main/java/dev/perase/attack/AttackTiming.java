package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What {@code timing.json} holds: the seconds of every prompt's attack and their means, with the
 * share of the time spent generating images (θ*'s reference, the pre-attack image, the attempts'
 * images) and optimising the tokens.
 *
 * @param prompts prompts timed
 * @param attempts attempts made over all of them
 * @param secondsPerPrompt mean seconds per prompt
 * @param secondsPerAttempt mean seconds per attempt (optimisation and image), or 0 when none ran
 * @param generationShare share of all seconds spent generating images
 * @param optimisationShare share spent optimising the tokens
 * @param detectorShare share spent in the detector
 */
public record AttackTiming(
    @JsonProperty("prompts") int prompts,
    @JsonProperty("attempts") int attempts,
    @JsonProperty("seconds") double seconds,
    @JsonProperty("seconds_per_prompt") double secondsPerPrompt,
    @JsonProperty("seconds_per_attempt") double secondsPerAttempt,
    @JsonProperty("generation_share") double generationShare,
    @JsonProperty("optimisation_share") double optimisationShare,
    @JsonProperty("detector_share") double detectorShare,
    @JsonProperty("per_prompt") List<PromptTiming> perPrompt) {
  public AttackTiming {
    perPrompt = List.copyOf(perPrompt);
  }

  /** The sums and shares of per-prompt timings. */
  public static AttackTiming of(List<PromptTiming> timings) {
    double total = 0;
    double generation = 0;
    double optimisation = 0;
    double detector = 0;
    double attemptSeconds = 0;
    int attempts = 0;
    for (PromptTiming t : timings) {
      total += t.total();
      generation += t.allGeneration();
      optimisation += t.optimisation();
      detector += t.detector();
      attemptSeconds += t.optimisation() + t.generation();
      attempts += t.attempts();
    }
    int n = timings.size();
    return new AttackTiming(
        n,
        attempts,
        total,
        n == 0 ? 0 : total / n,
        attempts == 0 ? 0 : attemptSeconds / attempts,
        total == 0 ? 0 : generation / total,
        total == 0 ? 0 : optimisation / total,
        total == 0 ? 0 : detector / total,
        timings);
  }
}

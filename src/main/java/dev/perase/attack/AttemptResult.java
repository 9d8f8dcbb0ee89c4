package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One attempt of an attack on one prompt: the optimisation at one timestep, then an image of the
 * projected adversarial prompt and the detector's verdict on it.
 *
 * @param attempt 1-based
 * @param ddimIndex the attempt's 0-based index into the DDIM sampling loop
 * @param timestep the attempt's timestep t
 * @param losses the loss of every iteration, in order
 * @param adversarialIds the k adversarial token ids (argmax of the rows after the attempt)
 * @param adversarialTokens their vocabulary entries ({@code </w>} marks a word end)
 * @param promptIds the attacked prompt's ids: start, adversarial, prompt, end (no padding)
 * @param adversarialPrompt the attacked prompt as text (its ids are what was generated from)
 * @param flagged whether the detector's rule finds the concept in the image
 * @param conceptScore the probability of the concept label
 * @param scores per detector head, the probability of each label
 * @param topLabels per detector head, its top label
 * @param image the image's path relative to the output folder
 */
public record AttemptResult(
    @JsonProperty("attempt") int attempt,
    @JsonProperty("ddim_index") int ddimIndex,
    @JsonProperty("timestep") int timestep,
    @JsonProperty("losses") List<Float> losses,
    @JsonProperty("adversarial_ids") List<Long> adversarialIds,
    @JsonProperty("adversarial_tokens") List<String> adversarialTokens,
    @JsonProperty("prompt_ids") List<Long> promptIds,
    @JsonProperty("adversarial_prompt") String adversarialPrompt,
    @JsonProperty("flagged") boolean flagged,
    @JsonProperty("concept_score") double conceptScore,
    @JsonProperty("scores") Map<String, Map<String, Double>> scores,
    @JsonProperty("top_labels") Map<String, String> topLabels,
    @JsonProperty("image") String image) {
  public AttemptResult {
    losses = List.copyOf(losses);
    adversarialIds = List.copyOf(adversarialIds);
    adversarialTokens = List.copyOf(adversarialTokens);
    promptIds = List.copyOf(promptIds);
    scores = scores == null ? Map.of() : new LinkedHashMap<>(scores);
    topLabels = topLabels == null ? Map.of() : new LinkedHashMap<>(topLabels);
  }
}

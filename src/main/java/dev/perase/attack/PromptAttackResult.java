package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.PromptRunFolder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The attack on one prompt: the attacked model's image of the prompt itself (pre-attack), then the
 * attempts until the first success. A prompt is broken when the detector flags its pre-attack image
 * (no attack needed, as the UnlearnDiff code counts it) or the image of an attempt.
 *
 * @param index the row's 0-based position in the prompt file
 * @param caseNumber the row's {@code case_number}
 * @param prompt the prompt
 * @param seed the generation seed
 * @param guidance the guidance scale
 * @param preAttackFlagged whether the detector flags the attacked model's image of the prompt
 * @param preAttackScore the concept's probability on that image
 * @param preAttackTopLabels per detector head, its top label on that image
 * @param broken whether the concept was shown: pre-attack or by an attempt
 * @param brokenAt 0 when the pre-attack image was flagged, j ≥ 1 when attempt j broke it, −1 when
 *     it held
 * @param attemptsRun attempts made (0 when the pre-attack image was flagged)
 * @param adversarialPrompt the last attempt's attacked prompt (the breaking one when broken by an
 *     attempt), or null when no attempt ran
 * @param adversarialIds its k adversarial token ids (empty when no attempt ran)
 * @param folder the prompt's folder relative to the output folder: images and {@code attempts.json}
 */
public record PromptAttackResult(
    @JsonProperty("index") int index,
    @JsonProperty("case_number") int caseNumber,
    @JsonProperty("prompt") String prompt,
    @JsonProperty("seed") long seed,
    @JsonProperty("guidance") double guidance,
    @JsonProperty("pre_attack_flagged") boolean preAttackFlagged,
    @JsonProperty("pre_attack_concept_score") double preAttackScore,
    @JsonProperty("pre_attack_top_labels") Map<String, String> preAttackTopLabels,
    @JsonProperty("broken") boolean broken,
    @JsonProperty("broken_at") int brokenAt,
    @JsonProperty("attempts_run") int attemptsRun,
    @JsonProperty("adversarial_prompt") String adversarialPrompt,
    @JsonProperty("adversarial_ids") List<Long> adversarialIds,
    @JsonProperty("folder") String folder)
    implements PromptRunFolder.RowOutcome {
  public PromptAttackResult {
    preAttackTopLabels =
        preAttackTopLabels == null ? Map.of() : new LinkedHashMap<>(preAttackTopLabels);
    adversarialIds = adversarialIds == null ? List.of() : List.copyOf(adversarialIds);
  }
}

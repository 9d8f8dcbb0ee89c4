package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.ConceptRule;
import java.util.List;

/**
 * What {@code results.json} holds: the run's settings that shape the numbers, per prompt its
 * outcome, the prompts skipped, and the Concept Erasure Rate before and under attack, both over the
 * attacked prompts (a prompt counts as flagged under attack when it was broken). It holds no
 * timings, so a resumed run writes the same file as an uninterrupted one; they are in {@code
 * timing.json}.
 *
 * @param prompts rows taken from the prompt file (all, or those selected)
 * @param attacked rows attacked (the others are in {@code skipped})
 * @param excludedTokens token ids the adversarial tokens could not take (special tokens and
 *     excluded words)
 */
public record AttackResults(
    @JsonProperty("method") AttackMethod method,
    @JsonProperty("concept") String concept,
    @JsonProperty("detector") String detector,
    @JsonProperty("rule") ConceptRule rule,
    @JsonProperty("edit") String edit,
    @JsonProperty("tokens") int tokens,
    @JsonProperty("iterations") int iterations,
    @JsonProperty("steps") int steps,
    @JsonProperty("attempt_timesteps") List<Integer> attemptTimesteps,
    @JsonProperty("relaxation") Relaxation relaxation,
    @JsonProperty("excluded_tokens") int excludedTokens,
    @JsonProperty("prompts") int prompts,
    @JsonProperty("attacked") int attacked,
    @JsonProperty("pre_attack") ConceptErasureRate preAttack,
    @JsonProperty("under_attack") ConceptErasureRate underAttack,
    @JsonProperty("skipped") List<SkippedPrompt> skipped,
    @JsonProperty("per_prompt") List<PromptAttackResult> perPrompt) {
  public AttackResults {
    attemptTimesteps = List.copyOf(attemptTimesteps);
    skipped = List.copyOf(skipped);
    perPrompt = List.copyOf(perPrompt);
  }

  /** The CER before the attack: the prompts whose own image the detector does not flag. */
  static ConceptErasureRate preAttack(List<PromptAttackResult> results) {
    return rate(results.size(), (int) results.stream().filter(r -> r.preAttackFlagged()).count());
  }

  /** The CER under attack: the prompts the attack did not break. */
  static ConceptErasureRate underAttack(List<PromptAttackResult> results) {
    return rate(results.size(), (int) results.stream().filter(r -> r.broken()).count());
  }

  private static ConceptErasureRate rate(int n, int flagged) {
    return new ConceptErasureRate(n, flagged, (n - flagged) / (double) n);
  }

  /**
   * A prompt left out because the adversarial tokens do not fit beside it.
   *
   * @param tokens its tokens with start and end
   * @param limit the tokenizer's limit, which {@code tokens} + k exceeds
   */
  public record SkippedPrompt(
      @JsonProperty("index") int index,
      @JsonProperty("case_number") int caseNumber,
      @JsonProperty("prompt") String prompt,
      @JsonProperty("tokens") int tokens,
      @JsonProperty("limit") int limit) {}
}

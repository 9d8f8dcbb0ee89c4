package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.erase.EraseMethod;
import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.Interval;
import dev.perase.eval.PromptFollowing;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The paper's claim tested on one test bed: a model erased by pruning (P-ESD, P-AC) keeps the
 * concept away under an attack more often than the model fine-tuned on the same objective (ESD,
 * AC). The test is Newcombe's 95 % interval of the difference of the two CERs under the attack
 * ({@link Interval#difference}): the claim <em>holds</em> when it lies above 0, <em>does not
 * hold</em> when it lies below 0, and is <em>not decided at this size</em> when it holds 0 — with 3
 * attacked prompts per model only 3 of 3 against 0 of 3 decides anything.
 *
 * <p>A model can resist every attack because it no longer draws what it is asked (the same disc for
 * every prompt); {@code caveat} names each attribute of the retain prompts (shape, colour, style)
 * that the pruned model follows less often than the fine-tuned one, by the same test.
 *
 * @param pruned the pruning method ({@code p-esd})
 * @param fineTuned its fine-tuning counterpart ({@code esd})
 * @param attack the attack's name ({@code unlearndiff})
 * @param cerPruned the pruned model's CER under the attack
 * @param cerFineTuned the fine-tuned model's CER under the attack
 * @param difference cerPruned − cerFineTuned
 * @param interval Newcombe's 95 % interval of the difference
 * @param verdict {@code holds}, {@code does not hold} or {@code not decided at this size}
 * @param caveat the retain attributes the pruned model follows significantly less often, or null
 */
public record PaperClaim(
    @JsonProperty("pruned") String pruned,
    @JsonProperty("fine_tuned") String fineTuned,
    @JsonProperty("attack") String attack,
    @JsonProperty("cer_pruned") double cerPruned,
    @JsonProperty("cer_fine_tuned") double cerFineTuned,
    @JsonProperty("difference") double difference,
    @JsonProperty("interval") Interval interval,
    @JsonProperty("verdict") String verdict,
    @JsonProperty("caveat") String caveat) {
  public static final String HOLDS = "holds";
  public static final String DOES_NOT_HOLD = "does not hold";
  public static final String NOT_DECIDED = "not decided at this size";

  /** The pairs the paper compares: each pruning method with its fine-tuning counterpart. */
  static final List<List<EraseMethod>> PAIRS =
      List.of(
          List.of(EraseMethod.P_ESD, EraseMethod.ESD), List.of(EraseMethod.P_AC, EraseMethod.AC));

  /**
   * The claim for every pair of {@link #PAIRS} whose both models have a finished attack run.
   *
   * @param attacks per model (the study's name), its attack results by attack
   * @param rows the bed's rows, for the prompt following of the retain prompts
   */
  static List<PaperClaim> test(
      Map<String, Map<AttackMethod, AttackResults>> attacks, List<StudyResults.Row> rows) {
    List<PaperClaim> claims = new ArrayList<>();
    for (List<EraseMethod> pair : PAIRS) {
      String p = pair.get(0).json();
      String f = pair.get(1).json();
      if (!attacks.containsKey(p) || !attacks.containsKey(f)) {
        continue;
      }
      for (AttackMethod a : AttackMethod.values()) {
        AttackResults rp = attacks.get(p).get(a);
        AttackResults rf = attacks.get(f).get(a);
        if (rp != null && rf != null) {
          claims.add(
              of(
                  p,
                  f,
                  a.label(),
                  rp.underAttack(),
                  rf.underAttack(),
                  following(rows, p),
                  following(rows, f)));
        }
      }
    }
    return claims;
  }

  /** The claim for one pair under one attack; the prompt followings may be null. */
  static PaperClaim of(
      String pruned,
      String fineTuned,
      String attack,
      ConceptErasureRate p,
      ConceptErasureRate f,
      PromptFollowing followingPruned,
      PromptFollowing followingFineTuned) {
    Interval d =
        Interval.difference(
            p.prompts() - p.flagged(), p.prompts(), f.prompts() - f.flagged(), f.prompts());
    String verdict = d.lo() > 0 ? HOLDS : d.hi() < 0 ? DOES_NOT_HOLD : NOT_DECIDED;
    return new PaperClaim(
        pruned,
        fineTuned,
        attack,
        p.rate(),
        f.rate(),
        p.rate() - f.rate(),
        d,
        verdict,
        caveat(pruned, fineTuned, followingPruned, followingFineTuned));
  }

  /** "follows the retain prompts' shape less often than esd (0.12 vs 0.85)", or null. */
  private static String caveat(
      String pruned, String fineTuned, PromptFollowing p, PromptFollowing f) {
    if (p == null || f == null) {
      return null;
    }
    List<String> worse = new ArrayList<>();
    for (PromptFollowing.Agreement a : p.heads()) {
      PromptFollowing.Agreement b = f.head(a.head());
      if (b == null || a.asked() == 0 || b.asked() == 0) {
        continue;
      }
      Interval d = Interval.difference(a.agreed(), a.asked(), b.agreed(), b.asked());
      if (d.hi() < 0) {
        worse.add(String.format(Locale.ROOT, "%s %.2f vs %.2f", a.head(), a.share(), b.share()));
      }
    }
    return worse.isEmpty()
        ? null
        : pruned
            + " follows the retain prompts less often than "
            + fineTuned
            + " ("
            + String.join(", ", worse)
            + ")";
  }

  private static PromptFollowing following(List<StudyResults.Row> rows, String model) {
    for (StudyResults.Row r : rows) {
      if (r.model().equals(model)) {
        return r.promptFollowing();
      }
    }
    return null;
  }

  /**
   * The claim as one sentence: "P-ESD vs ESD under UnlearnDiff: holds (CER 1.00 vs 0.33, difference
   * +0.67 [0.12, 0.91])."
   */
  @JsonProperty("text")
  public String sentence() {
    return String.format(
        Locale.ROOT,
        "%s vs %s under %s: %s (CER %.2f vs %.2f, difference %+.2f, 95 %% interval %s)%s.",
        pruned.toUpperCase(Locale.ROOT),
        fineTuned.toUpperCase(Locale.ROOT),
        attack.equals("unlearndiff") ? "UnlearnDiff" : attack.toUpperCase(Locale.ROOT),
        verdict,
        cerPruned,
        cerFineTuned,
        difference,
        interval.format(2),
        caveat == null ? "" : "; but " + caveat);
  }
}

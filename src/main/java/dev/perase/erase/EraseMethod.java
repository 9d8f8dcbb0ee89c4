package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * The ways to erase a concept: an objective (ESD, Eq. 2; AC, Eq. 3; FMN's attention mass; UCE's
 * closed-form least squares) times what changes (the selected weights themselves, or a soft mask
 * over them, paper §3.3), with or without global magnitude pruning before or after (the paper's
 * Pre-Prune and Post-Prune, §4.5).
 */
public enum EraseMethod {
  /** ESD (Gandikota et al. 2023): fine-tune the selected weights on the ESD objective. */
  ESD("esd", Objective.ESD, false, MagnitudePruning.When.NEVER),
  /** AC (Kumari et al. 2023, model-based): fine-tune the selected weights on the AC objective. */
  AC("ac", Objective.AC, false, MagnitudePruning.When.NEVER),
  /** P-ESD: learn a soft mask over the selected weights on the ESD objective (the paper). */
  P_ESD("p-esd", Objective.ESD, true, MagnitudePruning.When.NEVER),
  /** P-AC: learn a soft mask over the selected weights on the AC objective (the paper). */
  P_AC("p-ac", Objective.AC, true, MagnitudePruning.When.NEVER),
  /** UCE (Gandikota et al. 2024): closed-form edit of every {@code attn2.to_k} and {@code to_v}. */
  UCE("uce", Objective.CLOSED_FORM, false, MagnitudePruning.When.NEVER),
  /** FMN (Zhang et al. 2023, Forget-Me-Not): fine-tune to move attention off the concept. */
  FMN("fmn", Objective.ATTENTION, false, MagnitudePruning.When.NEVER),
  /** Pre-Prune (paper §4.5): global magnitude pruning, frozen at zero, then ESD on the rest. */
  PRE_PRUNE("pre-prune", Objective.ESD, false, MagnitudePruning.When.BEFORE),
  /** Post-Prune (paper §4.5): ESD fine-tuning, then global magnitude pruning. */
  POST_PRUNE("post-prune", Objective.ESD, false, MagnitudePruning.When.AFTER),
  /**
   * NP-ESD (paper §4.5, Table 6): zero the top-k concept neurons (Eq. 4) of every ResnetBlock2D of
   * an ESD model; run by {@code dev.perase.analysis.NeuronPruning}.
   */
  NP_ESD("np-esd", Objective.CONCEPT_NEURONS, false, MagnitudePruning.When.NEVER);

  /** What a method optimises. */
  public enum Objective {
    /** Eq. 2: negative guidance away from the concept ({@link Esd}). */
    ESD,
    /** Eq. 3: the concept's prediction onto an anchor's ({@link AnchorAblation}). */
    AC,
    /** FMN: the cross-attention mass on the concept's tokens ({@link AttentionResteering}). */
    ATTENTION,
    /** UCE: a least-squares edit solved in closed form ({@link Uce}), no training. */
    CLOSED_FORM,
    /** NP-ESD: no objective of its own; an ESD model's concept neurons are zeroed. */
    CONCEPT_NEURONS
  }

  public static final String CHOICES =
      "esd, ac, p-esd, p-ac, uce, fmn, pre-prune, post-prune or np-esd";

  private final String json;
  private final Objective objective;
  private final boolean pruning;
  private final MagnitudePruning.When magnitudePruning;

  EraseMethod(
      String json, Objective objective, boolean pruning, MagnitudePruning.When magnitudePruning) {
    this.json = json;
    this.objective = objective;
    this.pruning = pruning;
    this.magnitudePruning = magnitudePruning;
  }

  /** The name on the command line, in configs and in mask metadata: {@code p-esd}. */
  @JsonValue
  public String json() {
    return json;
  }

  public Objective objective() {
    return objective;
  }

  /** True for P-ESD and P-AC: a mask is learnt and the base weights never change. */
  public boolean pruning() {
    return pruning;
  }

  /** True for UCE: a closed-form edit, no training steps. */
  public boolean closedForm() {
    return objective == Objective.CLOSED_FORM;
  }

  /** When global magnitude pruning happens: never, before fine-tuning or after it. */
  public MagnitudePruning.When magnitudePruning() {
    return magnitudePruning;
  }

  /** Parses a method's name (case-insensitive, {@code _} for {@code -} accepted). */
  @JsonCreator
  public static EraseMethod parse(String text) {
    if (text != null) {
      String t = text.strip().toLowerCase(Locale.ROOT).replace('_', '-');
      for (EraseMethod m : values()) {
        if (m.json.equals(t)) {
          return m;
        }
      }
    }
    throw new BadInputException("unknown erasing method '" + text + "'; choose " + CHOICES);
  }

  @Override
  public String toString() {
    return json;
  }
}

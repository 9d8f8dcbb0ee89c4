package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * The four ways to erase a concept: an objective (ESD, Eq. 2, or AC, Eq. 3) times what is trained
 * (the selected weights themselves, or a soft mask over them, paper §3.3).
 */
public enum EraseMethod {
  /** ESD (Gandikota et al. 2023): fine-tune the selected weights on the ESD objective. */
  ESD("esd", Objective.ESD, false),
  /** AC (Kumari et al. 2023, model-based): fine-tune the selected weights on the AC objective. */
  AC("ac", Objective.AC, false),
  /** P-ESD: learn a soft mask over the selected weights on the ESD objective (the paper). */
  P_ESD("p-esd", Objective.ESD, true),
  /** P-AC: learn a soft mask over the selected weights on the AC objective (the paper). */
  P_AC("p-ac", Objective.AC, true);

  /** The erasing objective a method optimises. */
  public enum Objective {
    ESD,
    AC
  }

  public static final String CHOICES = "esd, ac, p-esd or p-ac";

  private final String json;
  private final Objective objective;
  private final boolean pruning;

  EraseMethod(String json, Objective objective, boolean pruning) {
    this.json = json;
    this.objective = objective;
    this.pruning = pruning;
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

  /** Parses {@code esd}, {@code ac}, {@code p-esd}, {@code p-ac} (case-insensitive). */
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

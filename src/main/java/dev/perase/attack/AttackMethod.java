package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.Locale;

/** The two adversarial prompt attacks of the paper (§4.1, appendix B.2). */
public enum AttackMethod {
  /**
   * UnlearnDiff (Zhang et al. 2023): the attacked model's denoising loss on the original model's
   * image of the prompt.
   */
  UNLEARNDIFF("unlearndiff"),
  /**
   * P4D (Chin et al. 2023): the attacked model's noise prediction for the adversarial prompt
   * matched to the original model's for the original prompt.
   */
  P4D("p4d");

  private final String label;

  AttackMethod(String label) {
    this.label = label;
  }

  /** As written on the command line and in results: {@code unlearndiff}, {@code p4d}. */
  @JsonValue
  public String label() {
    return label;
  }

  @JsonCreator
  public static AttackMethod parse(String text) {
    String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    for (AttackMethod m : values()) {
      if (m.label.equals(t)) {
        return m;
      }
    }
    throw new BadInputException("unknown attack method '" + text + "'; use unlearndiff or p4d");
  }
}

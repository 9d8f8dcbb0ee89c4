package dev.perase.world;

import dev.perase.attack.AttackSettings;
import java.util.Locale;

/** The three kinds of concept the world knows: the paper's object, style and implicit concept. */
public enum ConceptKind {
  /** An object: which figure is drawn (the paper's object test bed). */
  SHAPE,
  /** A fill colour: often asked for without its own word (the paper's nudity test bed). */
  COLOR,
  /** A texture style named like a painter (the paper's artist test bed). */
  STYLE;

  /** Lower-case name as written in prompt CSVs: {@code shape}, {@code color}, {@code style}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The paper's adversarial-token count k for concepts of this kind: colours stand for nudity (5),
   * shapes and styles for objects and artists (3).
   */
  public int attackTokens() {
    return this == COLOR
        ? AttackSettings.IMPLICIT_CONCEPT_TOKENS
        : AttackSettings.EXPLICIT_CONCEPT_TOKENS;
  }
}

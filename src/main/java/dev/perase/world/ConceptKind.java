package dev.perase.world;

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
}

package dev.perase.world;

import java.util.List;

/**
 * One way of saying a concept, and where in a caption it can stand.
 *
 * @param text the words as written in captions ("crimson", "made of fire", "by Vortex")
 * @param slot the grammatical position the grammar may put it in
 */
public record Wording(String text, Slot slot) {

  /** Grammatical positions of a wording inside a caption's noun phrase. */
  public enum Slot {
    /** A shape's noun: "a crimson <b>star</b>". */
    NOUN,
    /** Before the noun: "a <b>crimson</b> star", "a <b>swirling</b> star". */
    ADJ,
    /** After the noun: "a star <b>made of fire</b>", "a star <b>by Vortex</b>". */
    POST,
    /** Possessive in front of the whole phrase: "<b>Vortex's</b> star". */
    POSS,
    /** A bare name, never placed by the grammar but recognised in any prompt: "Vortex". */
    NAME
  }

  public Wording {
    if (text == null || text.isBlank() || !text.strip().equals(text)) {
      throw new IllegalArgumentException("a wording needs non-blank, trimmed text: '" + text + "'");
    }
  }

  /** The wording's text split as CLIP's tokenizer would split it (lower case). */
  public List<String> pieces() {
    return WorldText.pieces(text);
  }

  static Wording noun(String text) {
    return new Wording(text, Slot.NOUN);
  }

  static Wording adj(String text) {
    return new Wording(text, Slot.ADJ);
  }

  static Wording post(String text) {
    return new Wording(text, Slot.POST);
  }
}

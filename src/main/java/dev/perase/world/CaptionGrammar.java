package dev.perase.world;

import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Captions of the world: a template chosen at random, filled with random wordings of the image's
 * shape, colour and style (and sometimes its background), e.g. "a crimson star by Vortex", "a star
 * painted by Vortex, made of fire", "Vortex's swirling scarlet star on a grey background".
 *
 * <p>Every caption names all three of shape, colour and style, and no wording of one concept is
 * part of a wording of another, so {@link #parse(String)} recovers the labels from any caption.
 *
 * <p>Template placeholders: {@code {c}} colour before the noun (an adjective wording), {@code {C}}
 * colour after the noun (any wording; adjectives as "in crimson"), {@code {N}} the shape's noun,
 * {@code {s}} a style adjective ("swirling"), {@code {S}} a style phrase after the noun ("by
 * Vortex", "with swirls"), {@code {P}} the painter's possessive ("Vortex's"), {@code {B}} an
 * optional background phrase (" on a grey background", or nothing).
 */
public final class CaptionGrammar {
  /** The templates; "a" before a vowel becomes "an" after filling. */
  public static final List<String> TEMPLATES =
      List.of(
          "a {c} {N} {S}{B}",
          "a {N} {S}, {C}{B}",
          "{P} {s} {c} {N}{B}",
          "a {s} {c} {N}{B}",
          "a painting of a {c} {N} {S}",
          "{P} {N}, {C}",
          "a {s} {N} {C}{B}",
          "{c} {N}, {S}{B}",
          "a picture of a {N} {C}, {S}",
          "{P} {c} {N}{B}",
          "an image of a {s} {N}, {C}");

  /** Background frames; {@code {b}} is one of the background's wordings. */
  public static final List<String> BACKGROUND_FRAMES =
      List.of(" on a {b} background", " against a {b} background", " on {b}");

  /** Probability that a caption with a {@code {B}} slot mentions the background. */
  static final double BACKGROUND_PROBABILITY = 0.5;

  /** Each concept's wordings split into pieces once, for matching. */
  private static final Map<Concept, List<List<String>>> WORDING_PIECES = wordingPieces();

  private CaptionGrammar() {}

  private static Map<Concept, List<List<String>>> wordingPieces() {
    Map<Concept, List<List<String>>> out = new HashMap<>();
    for (Concept c : Concept.all()) {
      List<List<String>> ws = new ArrayList<>();
      for (Wording w : c.wordings()) {
        ws.add(w.pieces());
      }
      out.put(c, List.copyOf(ws));
    }
    return Map.copyOf(out);
  }

  /** A random caption for these labels. */
  public static String caption(Labels labels, SplittableRandom rng) {
    return fill(TEMPLATES.get(rng.nextInt(TEMPLATES.size())), labels, rng);
  }

  /** Fills one template with random wordings of the labels. */
  public static String fill(String template, Labels labels, SplittableRandom rng) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < template.length()) {
      char ch = template.charAt(i);
      if (ch == '{' && i + 2 < template.length() && template.charAt(i + 2) == '}') {
        out.append(slot(template.charAt(i + 1), labels, rng));
        i += 3;
      } else {
        out.append(ch);
        i++;
      }
    }
    return fixArticles(out.toString());
  }

  private static String slot(char name, Labels labels, SplittableRandom rng) {
    switch (name) {
      case 'N':
        return pick(labels.shape().wordings(), Wording.Slot.NOUN, rng);
      case 'c':
        return pick(labels.color().wordings(), Wording.Slot.ADJ, rng);
      case 'C':
        {
          Wording w = labels.color().wordings().get(rng.nextInt(labels.color().wordings().size()));
          return w.slot() == Wording.Slot.ADJ ? "in " + w.text() : w.text();
        }
      case 's':
        return pick(labels.style().wordings(), Wording.Slot.ADJ, rng);
      case 'S':
        return pick(labels.style().wordings(), Wording.Slot.POST, rng);
      case 'P':
        return pick(labels.style().wordings(), Wording.Slot.POSS, rng);
      case 'B':
        {
          if (rng.nextDouble() >= BACKGROUND_PROBABILITY) {
            return "";
          }
          List<String> names = labels.background().wordings();
          String frame = BACKGROUND_FRAMES.get(rng.nextInt(BACKGROUND_FRAMES.size()));
          return frame.replace("{b}", names.get(rng.nextInt(names.size())));
        }
      default:
        throw new IllegalArgumentException("unknown caption slot {" + name + "}");
    }
  }

  private static String pick(List<Wording> wordings, Wording.Slot slot, SplittableRandom rng) {
    List<String> fitting = new ArrayList<>();
    for (Wording w : wordings) {
      if (w.slot() == slot) {
        fitting.add(w.text());
      }
    }
    if (fitting.isEmpty()) {
      throw new IllegalStateException("no wording for slot " + slot + " in " + wordings);
    }
    return fitting.get(rng.nextInt(fitting.size()));
  }

  /** "a" before a word starting with a vowel letter becomes "an" ("an orange star"). */
  static String fixArticles(String s) {
    return s.replaceAll("(^|\\s)([aA]) (?=[aeiouAEIOU])", "$1$2n ");
  }

  /** Every concept the text mentions by any wording, in {@link Concept#all()} order. */
  public static List<Concept> mentions(String text) {
    List<String> pieces = WorldText.pieces(text);
    List<Concept> out = new ArrayList<>();
    for (Concept c : Concept.all()) {
      if (mentions(pieces, c)) {
        out.add(c);
      }
    }
    return out;
  }

  /** Whether the text names {@code c} by any of its wordings (matched on CLIP's pieces). */
  public static boolean mentions(String text, Concept c) {
    return mentions(WorldText.pieces(text), c);
  }

  private static boolean mentions(List<String> pieces, Concept c) {
    for (List<String> w : WORDING_PIECES.get(c)) {
      if (WorldText.containsRun(pieces, w)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The shape, colour and style a prompt names.
   *
   * @throws BadInputException when the prompt names none, or more than one, of some kind
   */
  public static PromptLabels parse(String text) {
    WorldShape shape = null;
    FillColor color = null;
    TextureStyle style = null;
    List<Concept> found = mentions(text);
    for (ConceptKind kind : ConceptKind.values()) {
      List<Concept> ofKind = new ArrayList<>();
      for (Concept c : found) {
        if (c.kind() == kind) {
          ofKind.add(c);
        }
      }
      if (ofKind.size() != 1) {
        throw new BadInputException(
            "prompt '"
                + text
                + "' names "
                + (ofKind.isEmpty()
                    ? "no " + kind.label()
                    : "several " + kind.label() + "s " + ofKind)
                + " of the world.");
      }
      switch (kind) {
        case SHAPE:
          shape = ofKind.get(0).shape();
          break;
        case COLOR:
          color = ofKind.get(0).color();
          break;
        case STYLE:
          style = ofKind.get(0).style();
          break;
        default:
          throw new AssertionError(kind);
      }
    }
    return new PromptLabels(shape, color, style);
  }

  /**
   * Every piece (as CLIP's pre-tokenizer splits it) that a caption can contain: the templates'
   * fixed words, the "in" of colour phrases, background frames and every wording of every concept
   * and background. Sorted set order: first appearance.
   */
  public static Set<String> vocabulary() {
    Set<String> out = new LinkedHashSet<>();
    for (String t : TEMPLATES) {
      out.addAll(WorldText.pieces(t.replaceAll("\\{.\\}", " ")));
    }
    out.add("an");
    out.add("in");
    for (String f : BACKGROUND_FRAMES) {
      out.addAll(WorldText.pieces(f.replace("{b}", " ")));
    }
    for (Background b : Background.values()) {
      for (String w : b.wordings()) {
        out.addAll(WorldText.pieces(w));
      }
    }
    for (Concept c : Concept.all()) {
      for (Wording w : c.wordings()) {
        out.addAll(w.pieces());
      }
    }
    return out;
  }
}

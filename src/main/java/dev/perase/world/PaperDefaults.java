package dev.perase.world;

import dev.perase.erase.ConceptDefaults;
import dev.perase.erase.Selection;
import dev.perase.io.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The paper's per-concept choices, for the built-in world's concepts: which layers to erase in
 * (styles: cross-attention; objects and nudity-like concepts: everything else) and AC's anchor.
 * Shared by {@code perase erase} and {@code perase demo}.
 */
public final class PaperDefaults {
  private PaperDefaults() {}

  /**
   * The paper's choices for the built-in world's concepts as {@link ConceptDefaults}; free text
   * falls back to {@link ConceptDefaults#FREE_TEXT}.
   */
  public static final ConceptDefaults CONCEPT_DEFAULTS =
      new ConceptDefaults() {
        @Override
        public LayerChoice layers(String concept) {
          Concept c = worldConcept(concept);
          if (c == null) {
            return FREE_TEXT.layers(concept);
          }
          return new LayerChoice(
              PaperDefaults.layers(c), "the paper's choice for a " + c.kind().label() + " concept");
        }

        @Override
        public String anchorPrompt(String concept) {
          Concept c = worldConcept(concept);
          return c == null ? null : PaperDefaults.anchorPrompt(concept, c);
        }

        @Override
        public Path conceptPrompts(String concept, Path model) {
          Concept c = worldConcept(concept);
          if (c == null) {
            return null;
          }
          Path file = model.resolve("prompts").resolve(c.name().toLowerCase(Locale.ROOT) + ".csv");
          return Files.isRegularFile(file) ? file : null;
        }
      };

  /** The anchor concept of AC per kind of world concept. */
  public static Concept anchor(Concept c) {
    return switch (c.kind()) {
      case SHAPE ->
          (c.shape() == WorldShape.CIRCLE ? WorldShape.SQUARE : WorldShape.CIRCLE).concept();
      case COLOR -> (c.color() == FillColor.BLUE ? FillColor.GREEN : FillColor.BLUE).concept();
      case STYLE ->
          (c.style() == TextureStyle.PLAIN ? TextureStyle.STRIPES : TextureStyle.PLAIN).concept();
    };
  }

  /**
   * The world concept a prompt is about: the name itself ("star", "vortex"), or the single concept
   * a short prompt mentions ("a star", "by Vortex"); null for free text.
   */
  public static Concept worldConcept(String text) {
    try {
      return Concept.of(text);
    } catch (BadInputException notAName) {
      List<Concept> mentioned = CaptionGrammar.mentions(text);
      return mentioned.size() == 1 ? mentioned.get(0) : null;
    }
  }

  /** The paper's default layers by concept kind (styles: cross-attn; the rest: non-cross-attn). */
  public static Selection layers(Concept c) {
    return c != null && c.kind() == ConceptKind.STYLE
        ? Selection.parse("cross-attn")
        : Selection.parse("non-cross-attn");
  }

  /**
   * The concept prompt with the world concept's own word replaced by the anchor concept's; null
   * when the prompt does not contain the word (then --anchor is needed).
   */
  public static String anchorPrompt(String prompt, Concept c) {
    Concept a = anchor(c);
    if (prompt.strip().equalsIgnoreCase(c.name())) {
      return a.name();
    }
    Matcher m =
        Pattern.compile("\\b" + Pattern.quote(c.ownWord()) + "\\b", Pattern.CASE_INSENSITIVE)
            .matcher(prompt);
    return m.find() ? m.replaceAll(Matcher.quoteReplacement(a.name())) : null;
  }
}

package dev.perase.world;

import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A concept of the world that can be erased or asked for: a shape ({@code star}), a fill colour
 * ({@code red}) or a texture style, named by its painter ({@code Vortex}).
 *
 * @param kind which attribute of an image the concept fixes
 * @param name the canonical name (shapes and colours lower case, painters capitalised)
 */
public record Concept(ConceptKind kind, String name) {

  public Concept {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    if (!canonicalNames(kind).contains(name)) {
      throw new IllegalArgumentException("not a concept of the world: " + kind + " " + name);
    }
  }

  /** Every concept: shapes, then colours, then styles, each in declaration order. */
  public static List<Concept> all() {
    List<Concept> out = new ArrayList<>();
    for (WorldShape s : WorldShape.values()) {
      out.add(s.concept());
    }
    for (FillColor c : FillColor.values()) {
      out.add(c.concept());
    }
    for (TextureStyle t : TextureStyle.values()) {
      out.add(t.concept());
    }
    return Collections.unmodifiableList(out);
  }

  /**
   * The concept with this name (case-insensitive: {@code star}, {@code RED}, {@code vortex}).
   *
   * @throws BadInputException naming every known concept when there is none
   */
  public static Concept of(String name) {
    Concept c = name == null ? null : lookup(name.strip());
    if (c == null) {
      List<String> names = new ArrayList<>();
      for (ConceptKind k : ConceptKind.values()) {
        List<String> ofKind = new ArrayList<>();
        for (Concept known : all()) {
          if (known.kind == k) {
            ofKind.add(known.name);
          }
        }
        names.add(k.label() + "s " + String.join(", ", ofKind));
      }
      throw new BadInputException(
          "unknown concept '" + name + "'; the world knows " + String.join("; ", names) + ".");
    }
    return c;
  }

  /** Every wording of the concept, own word first. */
  public List<Wording> wordings() {
    switch (kind) {
      case SHAPE:
        return shape().wordings();
      case COLOR:
        return color().wordings();
      case STYLE:
        return style().wordings();
      default:
        throw new AssertionError(kind);
    }
  }

  /** The concept's own word, lower case: {@code star}, {@code red}, {@code vortex}. */
  public String ownWord() {
    return name.toLowerCase(Locale.ROOT);
  }

  /** Whether an image with these labels shows the concept. */
  public boolean matches(Labels labels) {
    switch (kind) {
      case SHAPE:
        return labels.shape() == shape();
      case COLOR:
        return labels.color() == color();
      case STYLE:
        return labels.style() == style();
      default:
        throw new AssertionError(kind);
    }
  }

  /** The shape this concept names; only for {@link ConceptKind#SHAPE}. */
  public WorldShape shape() {
    requireKind(ConceptKind.SHAPE);
    return WorldShape.valueOf(name.toUpperCase(Locale.ROOT));
  }

  /** The colour this concept names; only for {@link ConceptKind#COLOR}. */
  public FillColor color() {
    requireKind(ConceptKind.COLOR);
    return FillColor.valueOf(name.toUpperCase(Locale.ROOT));
  }

  /** The style this concept names; only for {@link ConceptKind#STYLE}. */
  public TextureStyle style() {
    requireKind(ConceptKind.STYLE);
    for (TextureStyle t : TextureStyle.values()) {
      if (t.painter().equals(name)) {
        return t;
      }
    }
    throw new AssertionError(name);
  }

  @Override
  public String toString() {
    return kind.label() + " " + name;
  }

  private void requireKind(ConceptKind k) {
    if (kind != k) {
      throw new IllegalStateException(this + " is not a " + k.label());
    }
  }

  private static List<String> canonicalNames(ConceptKind kind) {
    List<String> out = new ArrayList<>();
    switch (kind) {
      case SHAPE:
        for (WorldShape s : WorldShape.values()) {
          out.add(s.conceptName());
        }
        break;
      case COLOR:
        for (FillColor c : FillColor.values()) {
          out.add(c.conceptName());
        }
        break;
      case STYLE:
        for (TextureStyle t : TextureStyle.values()) {
          out.add(t.painter());
        }
        break;
      default:
        throw new AssertionError(kind);
    }
    return out;
  }

  private static Concept lookup(String name) {
    for (ConceptKind k : ConceptKind.values()) {
      for (String known : canonicalNames(k)) {
        if (known.equalsIgnoreCase(name)) {
          return new Concept(k, known);
        }
      }
    }
    return null;
  }

  /**
   * The world concept a prompt file is about: {@code given} when not null, else the one value of
   * its {@code concept} column (checked against {@code concept_kind} when that column is present).
   */
  public static Concept fromPrompts(String given, List<PromptRow> rows, Path file) {
    if (given != null) {
      return Concept.of(given);
    }
    String name = null;
    for (PromptRow r : rows) {
      String c = r.extra().get("concept");
      if (c == null || c.isBlank()) {
        throw new BadInputException(
            file
                + " has no 'concept' column (or an empty one in case "
                + r.caseNumber()
                + "); name the concept with --concept");
      }
      if (name != null && !name.equals(c.strip())) {
        throw new BadInputException(
            file
                + " names several concepts ('"
                + name
                + "', '"
                + c.strip()
                + "'); pick one with --concept");
      }
      name = c.strip();
    }
    if (name == null) {
      throw new BadInputException(file + " has no prompts");
    }
    Concept concept = Concept.of(name);
    String kind = rows.get(0).extra().get("concept_kind");
    if (kind != null && !kind.isBlank() && !kind.strip().equalsIgnoreCase(concept.kind().label())) {
      throw new BadInputException(
          file
              + " says '"
              + name
              + "' is a "
              + kind.strip()
              + ", but it is a "
              + concept.kind().label());
    }
    return concept;
  }
}

package dev.perase.world;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The texture styles of the world, each signed by an invented painter: a caption says "by Vortex"
 * and the figure is filled with a swirl. A style is named either by its painter (in several frames:
 * "by", "painted by", "in the style of", possessive) or by a description of its texture.
 */
public enum TextureStyle {
  PLAIN("Solano", List.of("plain", "solid"), List.of("in flat colour")),
  STRIPES("Lineth", List.of("striped", "stripy"), List.of("with stripes")),
  DOTS("Pointel", List.of("dotted", "polka-dot", "spotted"), List.of("with dots")),
  CHECKER("Damier", List.of("checkered", "checkerboard"), List.of("with a checker pattern")),
  SWIRL("Vortex", List.of("swirling", "swirly"), List.of("with swirls"));

  private final String painter;
  private final List<Wording> wordings;

  TextureStyle(String painter, List<String> adjectives, List<String> descriptions) {
    this.painter = painter;
    List<Wording> w = new ArrayList<>();
    w.add(new Wording(painter, Wording.Slot.NAME));
    w.add(new Wording(painter + "'s", Wording.Slot.POSS));
    w.add(Wording.post("by " + painter));
    w.add(Wording.post("painted by " + painter));
    w.add(Wording.post("in the style of " + painter));
    for (String a : adjectives) {
      w.add(Wording.adj(a));
    }
    for (String d : descriptions) {
      w.add(Wording.post(d));
    }
    this.wordings = List.copyOf(w);
  }

  /** The painter's name, which is also the concept's canonical name: {@code Vortex}. */
  public String painter() {
    return painter;
  }

  public String conceptName() {
    return painter;
  }

  /** The style's own word, lower case as the tokenizer sees it: {@code vortex}. */
  public String ownWord() {
    return painter.toLowerCase(Locale.ROOT);
  }

  /** Every wording: the bare name first, then the painter frames, then texture descriptions. */
  public List<Wording> wordings() {
    return wordings;
  }

  public Concept concept() {
    return new Concept(ConceptKind.STYLE, painter);
  }
}

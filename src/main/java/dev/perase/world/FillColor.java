package dev.perase.world;

import java.util.List;
import java.util.Locale;

/**
 * The fill colours of the world, chosen to stay apart at 32×32 even under a texture's darker or
 * lighter shade. Each has its own word and several others, many of which do not contain it (so a
 * colour can be asked for implicitly, as nudity is in I2P prompts).
 */
public enum FillColor {
  RED(
      new int[] {220, 30, 35},
      List.of(
          Wording.adj("red"),
          Wording.adj("crimson"),
          Wording.adj("scarlet"),
          Wording.adj("ruby"),
          Wording.adj("cherry"),
          Wording.adj("vermilion"),
          Wording.adj("blood-red"),
          Wording.post("made of fire"),
          Wording.post("the colour of blood"))),
  BLUE(
      new int[] {35, 80, 225},
      List.of(
          Wording.adj("blue"),
          Wording.adj("azure"),
          Wording.adj("sapphire"),
          Wording.adj("cobalt"),
          Wording.adj("ultramarine"),
          Wording.post("the colour of the deep sea"))),
  GREEN(
      new int[] {35, 165, 50},
      List.of(
          Wording.adj("green"),
          Wording.adj("emerald"),
          Wording.adj("jade"),
          Wording.adj("malachite"),
          Wording.post("the colour of grass"))),
  YELLOW(
      new int[] {245, 215, 25},
      List.of(
          Wording.adj("yellow"),
          Wording.adj("gold"),
          Wording.adj("lemon"),
          Wording.adj("canary"),
          Wording.post("the colour of the sun"))),
  PURPLE(
      new int[] {135, 45, 185},
      List.of(
          Wording.adj("purple"),
          Wording.adj("violet"),
          Wording.adj("amethyst"),
          Wording.adj("plum"),
          Wording.post("the colour of grapes"))),
  ORANGE(
      new int[] {250, 130, 15},
      List.of(
          Wording.adj("orange"),
          Wording.adj("tangerine"),
          Wording.adj("pumpkin"),
          Wording.adj("apricot"),
          Wording.post("the colour of carrots"))),
  WHITE(
      new int[] {245, 245, 245},
      List.of(
          Wording.adj("white"),
          Wording.adj("ivory"),
          Wording.adj("pearl"),
          Wording.adj("chalk"),
          Wording.post("the colour of snow"))),
  BLACK(
      new int[] {18, 18, 18},
      List.of(
          Wording.adj("black"),
          Wording.adj("ebony"),
          Wording.adj("onyx"),
          Wording.adj("jet-black"),
          Wording.post("the colour of coal")));

  private final int[] rgb;
  private final List<Wording> wordings;

  FillColor(int[] rgb, List<Wording> wordings) {
    this.rgb = rgb;
    this.wordings = wordings;
  }

  /** The canonical name and the colour's own word: {@code red}. */
  public String conceptName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Every wording of the colour; the first is its own word. */
  public List<Wording> wordings() {
    return wordings;
  }

  public Concept concept() {
    return new Concept(ConceptKind.COLOR, conceptName());
  }

  /** sRGB components 0..255 (a copy). */
  public int[] rgb() {
    return rgb.clone();
  }

  /**
   * The texture's second tone: the fill darkened towards black for light colours, lightened towards
   * white for dark ones (black), so that every style keeps the fill's hue dominant and visible.
   */
  public int[] shade() {
    double luma = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255.0;
    int[] out = new int[3];
    for (int c = 0; c < 3; c++) {
      out[c] =
          luma > 0.25
              ? (int) Math.round(rgb[c] * 0.45)
              : (int) Math.round(rgb[c] + (255 - rgb[c]) * 0.42);
    }
    return out;
  }
}

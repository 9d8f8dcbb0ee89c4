package dev.perase.world;

import java.util.List;
import java.util.Locale;

/**
 * Muted backgrounds: mid-grey, a sandy beige and a dark blue-grey slate. None carries a fill
 * colour's hue strongly (saturation below 0.25), and all sit at mid luminance so that white and
 * black figures stand out as much as coloured ones.
 */
public enum Background {
  GREY(new int[] {128, 128, 128}, List.of("grey", "gray")),
  SAND(new int[] {176, 164, 136}, List.of("sand", "beige")),
  SLATE(new int[] {84, 92, 104}, List.of("slate", "dark slate"));

  private final int[] rgb;
  private final List<String> wordings;

  Background(int[] rgb, List<String> wordings) {
    this.rgb = rgb;
    this.wordings = wordings;
  }

  public String conceptName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Adjectives for "on a ... background". */
  public List<String> wordings() {
    return wordings;
  }

  /** sRGB components 0..255 (a copy). */
  public int[] rgb() {
    return rgb.clone();
  }
}

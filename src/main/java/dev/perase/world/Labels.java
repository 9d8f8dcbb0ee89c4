package dev.perase.world;

import java.util.List;
import java.util.Objects;

/**
 * The true content of a rendered image: what the detector must predict and what a caption says.
 *
 * @param shape the figure
 * @param color its fill colour
 * @param style the texture inside the figure
 * @param background the plain colour behind it
 */
public record Labels(WorldShape shape, FillColor color, TextureStyle style, Background background) {
  public Labels {
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(color, "color");
    Objects.requireNonNull(style, "style");
    Objects.requireNonNull(background, "background");
  }

  /** The three concepts these labels show: shape, colour, style. */
  public List<Concept> concepts() {
    return List.of(shape.concept(), color.concept(), style.concept());
  }

  /** Whether any of the three concepts is {@code c}. */
  public boolean shows(Concept c) {
    return c.matches(this);
  }
}

package dev.perase.world;

/**
 * The shape, colour and style a prompt asks for, as recovered from its words by {@link
 * CaptionGrammar#parse(String)}.
 */
public record PromptLabels(WorldShape shape, FillColor color, TextureStyle style) {
  /** Whether an image with these labels matches the prompt on all three attributes. */
  public boolean agreesWith(Labels labels) {
    return labels.shape() == shape && labels.color() == color && labels.style() == style;
  }
}

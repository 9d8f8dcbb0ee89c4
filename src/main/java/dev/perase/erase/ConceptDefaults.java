package dev.perase.erase;

import java.nio.file.Path;

/**
 * The per-concept choices of the paper that a request leaves open: the layers to erase in and AC's
 * anchor prompt. {@link #FREE_TEXT} knows no concept (nudity, an object or an artist written as
 * text); the built-in world's concepts have their own ({@code world.PaperDefaults}).
 */
public interface ConceptDefaults {
  /**
   * The layers for a concept and why they were chosen, for the command to print.
   *
   * @param selection the layers
   * @param reason one clause: why these ("the paper's choice for a style concept")
   */
  record LayerChoice(Selection selection, String reason) {}

  /** The layers the paper erases in for {@code concept}. */
  LayerChoice layers(String concept);

  /** AC's anchor prompt for {@code concept}, or null when the user must give one. */
  String anchorPrompt(String concept);

  /**
   * A prompt file of {@code concept} that the model folder ships (NP-ESD's concept prompts when the
   * user gives none), or null.
   */
  Path conceptPrompts(String concept, Path model);

  /**
   * Free text: non-cross-attention layers (the paper's choice for nudity and objects; an artist's
   * style asks for {@code --layers cross-attn}), no anchor.
   */
  ConceptDefaults FREE_TEXT =
      new ConceptDefaults() {
        @Override
        public LayerChoice layers(String concept) {
          return new LayerChoice(
              Selection.parse("non-cross-attn"),
              "\""
                  + concept
                  + "\" is not a concept of the built-in world; non-cross-attn is the paper's"
                  + " choice for nudity and objects, use --layers cross-attn for an artist's"
                  + " style");
        }

        @Override
        public String anchorPrompt(String concept) {
          return null;
        }

        @Override
        public Path conceptPrompts(String concept, Path model) {
          return null;
        }
      };
}

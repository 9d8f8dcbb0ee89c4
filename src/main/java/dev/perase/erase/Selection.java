package dev.perase.erase;

import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which parameters an erasure touches: the soft mask of P-ESD / P-AC (one logit per element of each
 * selected parameter) and the fine-tuned baselines (ESD, AC) use the same selections. Only maskable
 * parameters are ever selected: weights and biases of Conv2d and Linear layers (paper §3.3); norms
 * and embeddings never are.
 *
 * <ul>
 *   <li>{@code cross-attn}: names containing {@code attn2}, the cross-attention to the text (ESD-x,
 *       the paper's choice for styles);
 *   <li>{@code non-cross-attn}: every other conv and linear (ESD-u, the paper's choice for nudity
 *       and objects). Unlike the original ESD code's {@code noxattn}, which also leaves out {@code
 *       out.*} and {@code time_embed*}, this keeps the UNet's {@code conv_out} and {@code
 *       time_embedding} (DESIGN.md §4: every conv/linear except {@code attn2}); use a regex to
 *       leave them out;
 *   <li>{@code all}: every conv and linear;
 *   <li>a regex ({@code --layers-regex}), matched with {@link java.util.regex.Matcher#find()} on
 *       the full dotted key, for experts.
 * </ul>
 *
 * The canonical names above round-trip through {@link #parse}; a regex is written as {@code
 * regex:<pattern>} in mask metadata and configs.
 */
public sealed interface Selection
    permits Selection.CrossAttention, Selection.NonCrossAttention, Selection.All, Selection.Regex {

  String CHOICES = "cross-attn, non-cross-attn, all, or regex:PATTERN";

  /** The name written to configs and mask metadata; {@link #parse} reads it back. */
  String name();

  /** Whether a maskable parameter belongs to the selection (called only for maskable ones). */
  boolean includes(Param p);

  /** The selected parameters of {@code params}, in load order. */
  default List<Param> select(ParamSet params) {
    List<Param> out = new ArrayList<>();
    for (Param p : params.named().values()) {
      if (p.maskable() && includes(p)) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * The selected parameters of {@code params}, in load order; none is bad input (a selection that
   * erases nothing).
   */
  default List<Param> selectSome(ParamSet params) {
    List<Param> out = select(params);
    if (out.isEmpty()) {
      throw new BadInputException(
          "layer selection '" + name() + "' matches no conv or linear parameter of the model");
    }
    return out;
  }

  /** Tensor and element counts of the selection on {@code params}, shown before training. */
  default Summary summarize(ParamSet params) {
    int tensors = 0;
    long elements = 0;
    long maskable = 0;
    for (Param p : params.named().values()) {
      if (!p.maskable()) {
        continue;
      }
      maskable += p.numel();
      if (includes(p)) {
        tensors++;
        elements += p.numel();
      }
    }
    return new Summary(name(), tensors, elements, maskable);
  }

  /**
   * Parses {@code --layers}: {@code cross-attn}, {@code non-cross-attn}, {@code all} (the ESD
   * code's {@code xattn}, {@code noxattn} and {@code full} are accepted as the same three) or
   * {@code regex:PATTERN}. Anything else is a {@link BadInputException} listing the choices.
   */
  static Selection parse(String text) {
    if (text == null) {
      throw new BadInputException("a layer selection is required: " + CHOICES);
    }
    if (text.startsWith("regex:")) {
      return regex(text.substring("regex:".length()));
    }
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "cross-attn", "xattn" -> new CrossAttention();
      case "non-cross-attn", "noxattn" -> new NonCrossAttention();
      case "all", "full" -> new All();
      default ->
          throw new BadInputException("unknown layer selection '" + text + "'; choose " + CHOICES);
    };
  }

  /** The selection of {@code --layers-regex}; an invalid pattern is a {@link BadInputException}. */
  static Selection regex(String pattern) {
    if (pattern == null || pattern.isEmpty()) {
      throw new BadInputException("--layers-regex needs a non-empty regular expression");
    }
    try {
      return new Regex(Pattern.compile(pattern));
    } catch (PatternSyntaxException e) {
      throw new BadInputException(
          "--layers-regex '"
              + pattern
              + "' is not a valid regular expression: "
              + e.getDescription());
    }
  }

  /** Names containing {@code attn2}: the cross-attention projections to_q, to_k, to_v, to_out.0. */
  record CrossAttention() implements Selection {
    @Override
    public String name() {
      return "cross-attn";
    }

    @Override
    public boolean includes(Param p) {
      return p.name().contains("attn2");
    }
  }

  /** Every conv and linear whose name does not contain {@code attn2}. */
  record NonCrossAttention() implements Selection {
    @Override
    public String name() {
      return "non-cross-attn";
    }

    @Override
    public boolean includes(Param p) {
      return !p.name().contains("attn2");
    }
  }

  /** Every conv and linear. */
  record All() implements Selection {
    @Override
    public String name() {
      return "all";
    }

    @Override
    public boolean includes(Param p) {
      return true;
    }
  }

  /** Conv and linear parameters whose full key contains a match of {@code pattern}. */
  record Regex(Pattern pattern) implements Selection {
    @Override
    public String name() {
      return "regex:" + pattern.pattern();
    }

    @Override
    public boolean includes(Param p) {
      return pattern.matcher(p.name()).find();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Regex r && r.pattern.pattern().equals(pattern.pattern());
    }

    @Override
    public int hashCode() {
      return pattern.pattern().hashCode();
    }
  }

  /**
   * What a selection covers on one model.
   *
   * @param tensors selected parameter tensors
   * @param elements selected elements (one mask logit each)
   * @param maskableElements elements of every conv and linear parameter of the model
   */
  record Summary(String selection, int tensors, long elements, long maskableElements) {
    /** Share of the model's maskable elements that the selection covers. */
    public double share() {
      return maskableElements == 0 ? 0 : (double) elements / maskableElements;
    }

    /** One line, e.g. {@code layers cross-attn: 32 tensors, 1,204,224 elements (1.4 % of ...)}. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "layers %s: %,d tensors, %,d elements (%.3g %% of the model's %,d conv/linear elements)",
          selection,
          tensors,
          elements,
          100 * share(),
          maskableElements);
    }
  }
}

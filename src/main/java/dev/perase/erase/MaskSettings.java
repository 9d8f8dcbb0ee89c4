package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * The soft mask of paper §3.3: {@code m = sigmoid(T · s)} with temperature T, every logit starting
 * at s₀, and the hard mask {@code 1[m > τ]} after training.
 *
 * <p>The float32 pitfall: {@code sigmoid(x)} rounds to exactly 1.0 in float32 once {@code exp(−x)}
 * is below half an ulp of 1 (2⁻²⁴), i.e. for x above about 16.6, and its gradient {@code m(1 − m)}
 * is then exactly 0. With T = 10 a logit above about 1.66 is frozen for good: no optimiser can move
 * it. s₀ = 1 gives m = 0.9999546 with gradient 4.5e-4, so every element starts trainable. The
 * constructor refuses settings whose initial mask is already frozen at 1.
 *
 * @param temperature T, the slope of the sigmoid (paper: 10)
 * @param initialLogit s₀ (1, so that m₀ ≈ 0.99995)
 *     <p>The pruning budget. Without one (the paper's method), τ alone decides what is pruned, and
 *     how much that is depends on the scale of the model: AdamW moves a logit by about lr per step
 *     when its gradient is far above AdamW's ε = 1e-8 and by lr·|g|/ε when far below, and on the
 *     built-in world 96 % of the gradients ∂L/∂s at the first steps are below ε (median about
 *     1e-10), so the share of elements that cross τ follows the share of gradients near or above ε:
 *     a property of the model's size and weights, not of the concept. A budget ρ makes the share a
 *     setting: only the ⌈ρ·n⌉ selected elements with the lowest logits (the elements the objective
 *     pushed down hardest and most consistently) are attenuated in the forward pass, every other
 *     weight is used whole; gradients reach all logits as before (a straight-through estimator, as
 *     in movement pruning's top-k masks), so an element can still enter the budget later. The hard
 *     mask prunes the budget's elements whose m ≤ τ: never more than ⌈ρ·n⌉.
 * @param threshold τ of the hard mask {@code 1[m > τ]} (0.5)
 * @param pruneRatio the budget ρ, the largest share of the selected elements the mask may prune, in
 *     (0, 1]; null for none
 */
public record MaskSettings(
    @JsonProperty("temperature") double temperature,
    @JsonProperty("initial_logit") double initialLogit,
    @JsonProperty("threshold") double threshold,
    @JsonProperty("prune_ratio") @JsonInclude(JsonInclude.Include.NON_NULL) Double pruneRatio) {

  public static final MaskSettings DEFAULT = new MaskSettings(10, 1, 0.5, null);

  public MaskSettings {
    if (pruneRatio != null && !(pruneRatio > 0 && pruneRatio <= 1)) {
      throw new BadInputException(
          "the mask's --prune-ratio must be a share in (0, 1], e.g. 1e-5, got " + pruneRatio);
    }
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new BadInputException("mask temperature must be a positive number, got " + temperature);
    }
    if (!(threshold > 0 && threshold < 1)) {
      throw new BadInputException(
          "mask threshold τ must lie strictly between 0 and 1, got " + threshold);
    }
    if (!Double.isFinite(initialLogit)) {
      throw new BadInputException(
          "initial mask logit must be a finite number, got " + initialLogit);
    }
    if (sigmoidF32((float) temperature * (float) initialLogit) == 1f) {
      throw new BadInputException(
          String.format(
              Locale.ROOT,
              "initial mask logit %s with temperature %s gives sigmoid(%s) = 1.0 exactly in"
                  + " float32, whose gradient is 0, so the mask could never be trained; keep T·s₀"
                  + " below about 16.6 (the default s₀ = 1, T = 10 gives m₀ = 0.99995)",
              initialLogit,
              temperature,
              (float) temperature * (float) initialLogit));
    }
    if (sigmoidF32((float) temperature * (float) initialLogit) <= threshold) {
      throw new BadInputException(
          "initial mask logit "
              + initialLogit
              + " starts every element pruned (m₀ ≤ τ = "
              + threshold
              + "); the mask must start near 1");
    }
  }

  /** Defaults for keys a config omits. */
  @JsonCreator
  static MaskSettings fromJson(
      @JsonProperty("temperature") Double temperature,
      @JsonProperty("initial_logit") Double initialLogit,
      @JsonProperty("threshold") Double threshold,
      @JsonProperty("prune_ratio") Double pruneRatio) {
    return new MaskSettings(
        temperature == null ? DEFAULT.temperature : temperature,
        initialLogit == null ? DEFAULT.initialLogit : initialLogit,
        threshold == null ? DEFAULT.threshold : threshold,
        pruneRatio);
  }

  /** These settings with the pruning budget ρ (null: none). */
  public MaskSettings withPruneRatio(Double ratio) {
    return new MaskSettings(temperature, initialLogit, threshold, ratio);
  }

  /** The budget in elements, ⌈ρ·n⌉ of {@code n} selected, or n without a budget. */
  public long budget(long n) {
    return pruneRatio == null ? n : Math.min(n, (long) Math.ceil(pruneRatio * n));
  }

  /** {@code 1 / (1 + exp(−x))} in float32 arithmetic, as torch's CPU sigmoid rounds it. */
  static float sigmoidF32(float x) {
    float e = (float) Math.exp(-x);
    return 1f / (1f + e);
  }
}

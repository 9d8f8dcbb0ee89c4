package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * One row of a test bed's results table, laid out like the paper's Tables 1, 3 and 5 (there the
 * methods are columns; here they are rows). Every number may be null, shown as "—": the base model
 * has no pruned ratio, a fine-tuned model none either, a run without attacks no attack CER.
 *
 * @param method the method as shown: {@code base}, {@code ESD}, {@code P-ESD}, {@code AC}, …
 * @param base true for the unedited model: shown for reference, never marked best
 * @param cerTest concept erasure rate on the test prompts, in [0, 1] (higher is better)
 * @param cerUnlearnDiff CER under the UnlearnDiff attack, in [0, 1]
 * @param cerP4d CER under the P4D attack, in [0, 1]
 * @param retainFd Fréchet distance between this model's and the base model's images of the retain
 *     prompts (lower is better; the paper's COCO-30k FID)
 * @param prunedRatio pruned weights over the weights of the selected layers, in [0, 1]
 * @param wallSeconds wall time of erasing, in seconds
 * @param retainFdRendered Fréchet distance between this model's images of the retain prompts and
 *     renderings of what they ask for (the world's FID against real images)
 * @param cerTestBounds 95 % interval of {@code cerTest}, or null (likewise the next four, each of
 *     the number its name starts with)
 * @param following the detector's agreement with each attribute the retain prompts ask for (shape,
 *     colour, style); empty when not measured
 */
public record MethodRow(
    @JsonProperty("method") String method,
    @JsonProperty("base") boolean base,
    @JsonProperty("cer_test") Double cerTest,
    @JsonProperty("cer_unlearndiff") Double cerUnlearnDiff,
    @JsonProperty("cer_p4d") Double cerP4d,
    @JsonProperty("retain_fd") Double retainFd,
    @JsonProperty("pruned_ratio") Double prunedRatio,
    @JsonProperty("wall_seconds") Double wallSeconds,
    @JsonProperty("retain_fd_rendered") Double retainFdRendered,
    @JsonProperty("cer_test_bounds") Bounds cerTestBounds,
    @JsonProperty("cer_unlearndiff_bounds") Bounds cerUnlearnDiffBounds,
    @JsonProperty("cer_p4d_bounds") Bounds cerP4dBounds,
    @JsonProperty("retain_fd_bounds") Bounds retainFdBounds,
    @JsonProperty("retain_fd_rendered_bounds") Bounds retainFdRenderedBounds,
    @JsonProperty("following") List<Following> following) {
  public MethodRow {
    if (method == null || method.isBlank()) {
      throw new BadInputException("a results row needs a method name");
    }
    unit(method, "cer_test", cerTest);
    unit(method, "cer_unlearndiff", cerUnlearnDiff);
    unit(method, "cer_p4d", cerP4d);
    unit(method, "pruned_ratio", prunedRatio);
    nonNegative(method, "retain_fd", retainFd);
    nonNegative(method, "wall_seconds", wallSeconds);
    nonNegative(method, "retain_fd_rendered", retainFdRendered);
    following = following == null ? List.of() : List.copyOf(following);
  }

  /** A row without intervals or prompt following. */
  public MethodRow(
      String method,
      boolean base,
      Double cerTest,
      Double cerUnlearnDiff,
      Double cerP4d,
      Double retainFd,
      Double prunedRatio,
      Double wallSeconds,
      Double retainFdRendered) {
    this(
        method,
        base,
        cerTest,
        cerUnlearnDiff,
        cerP4d,
        retainFd,
        prunedRatio,
        wallSeconds,
        retainFdRendered,
        null,
        null,
        null,
        null,
        null,
        null);
  }

  /** The agreement on {@code attribute}, or null when not measured. */
  public Following following(String attribute) {
    for (Following f : following) {
      if (f.attribute().equals(attribute)) {
        return f;
      }
    }
    return null;
  }

  /** A row without the distance to rendered images. */
  public MethodRow(
      String method,
      boolean base,
      Double cerTest,
      Double cerUnlearnDiff,
      Double cerP4d,
      Double retainFd,
      Double prunedRatio,
      Double wallSeconds) {
    this(method, base, cerTest, cerUnlearnDiff, cerP4d, retainFd, prunedRatio, wallSeconds, null);
  }

  private static void unit(String method, String name, Double v) {
    if (v != null && !(v >= 0 && v <= 1)) {
      throw new BadInputException(method + ": " + name + " must lie in [0, 1], got " + v);
    }
  }

  private static void nonNegative(String method, String name, Double v) {
    if (v != null && !(v >= 0 && Double.isFinite(v))) {
      throw new BadInputException(method + ": " + name + " must be a finite number ≥ 0, got " + v);
    }
  }
}

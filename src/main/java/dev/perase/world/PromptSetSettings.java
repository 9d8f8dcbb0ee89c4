package dev.perase.world;

/**
 * How a prompt set is drawn.
 *
 * @param count number of prompts
 * @param seed the set's seed: prompts, labels and every row's evaluation seed follow from it
 * @param guidance classifier-free guidance scale written in each row (7.5 by default, as in the
 *     UnlearnDiff prompt files)
 */
public record PromptSetSettings(int count, long seed, double guidance) {
  public static final double DEFAULT_GUIDANCE = 7.5;

  public PromptSetSettings {
    if (count < 1) {
      throw new IllegalArgumentException("a prompt set needs at least one prompt, got " + count);
    }
    if (!Double.isFinite(guidance) || guidance < 0) {
      throw new IllegalArgumentException("guidance must be a finite number ≥ 0, got " + guidance);
    }
  }

  public PromptSetSettings(int count, long seed) {
    this(count, seed, DEFAULT_GUIDANCE);
  }
}

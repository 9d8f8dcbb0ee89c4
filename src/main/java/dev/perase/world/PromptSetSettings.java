package dev.perase.world;

/**
 * How a prompt set is drawn.
 *
 * @param count number of prompts
 * @param seed the set's seed: prompts, labels and every row's evaluation seed follow from it
 * @param guidance classifier-free guidance scale written in each row: by default the world model's
 *     {@link #DEFAULT_GUIDANCE}, not SD's 7.5 of the UnlearnDiff files (at 7.5 the small world
 *     model over-shoots into noise; at 2 it draws the asked colour for 97.5 % of held-out prompts)
 */
public record PromptSetSettings(int count, long seed, double guidance) {
  public static final double DEFAULT_GUIDANCE = 2.0;

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

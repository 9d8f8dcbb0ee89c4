package dev.perase.world;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * Settings of the world model's training: the DDPM regression loss (ε or v, as the scheduler config
 * says) at timesteps drawn as {@link TimestepSampling} says, AdamW with linear warm-up and cosine
 * decay to a tenth, caption dropout for classifier-free guidance, an EMA of the weights.
 */
public record WorldTrainSettings(
    @JsonProperty("steps") int steps,
    @JsonProperty("batch_size") int batchSize,
    @JsonProperty("learning_rate") double learningRate,
    @JsonProperty("warmup_steps") int warmupSteps,
    @JsonProperty("weight_decay") double weightDecay,
    @JsonProperty("caption_dropout") double captionDropout,
    @JsonProperty("ema_decay") double emaDecay,
    @JsonProperty("seed") long seed,
    @JsonProperty("checkpoint_every") int checkpointEvery,
    @JsonProperty("timesteps") TimestepSampling timesteps) {
  public WorldTrainSettings {
    // checkpoints written before the setting existed drew their timesteps uniformly
    timesteps = timesteps == null ? TimestepSampling.UNIFORM : timesteps;
    if (steps < 1 || batchSize < 1 || warmupSteps < 0 || checkpointEvery < 1) {
      throw new BadInputException("steps, batch size and checkpoint interval must be positive");
    }
    if (!(learningRate > 0) || weightDecay < 0) {
      throw new BadInputException(
          "the learning rate must be positive and weight decay non-negative");
    }
    if (captionDropout < 0 || captionDropout >= 1 || emaDecay < 0 || emaDecay >= 1) {
      throw new BadInputException("caption dropout and EMA decay must lie in [0, 1)");
    }
  }

  /**
   * The settings of the committed world model's first phase; its later phases resumed with more
   * steps and, last, EDM timesteps (README, "The built-in world").
   */
  public static WorldTrainSettings defaults() {
    return new WorldTrainSettings(
        2000, 32, 1e-3, 100, 0.01, 0.1, 0.999, 0, 100, TimestepSampling.UNIFORM);
  }

  public WorldTrainSettings withSteps(int n) {
    return copy(n, batchSize, learningRate, seed, timesteps);
  }

  public WorldTrainSettings withBatchSize(int b) {
    return copy(steps, b, learningRate, seed, timesteps);
  }

  public WorldTrainSettings withSeed(long s) {
    return copy(steps, batchSize, learningRate, s, timesteps);
  }

  public WorldTrainSettings withTimesteps(TimestepSampling sampling) {
    return copy(steps, batchSize, learningRate, seed, sampling);
  }

  /** These settings with another peak learning rate (warm-up, then cosine decay to a tenth). */
  public WorldTrainSettings withLearningRate(double lr) {
    return copy(steps, batchSize, lr, seed, timesteps);
  }

  /** These settings with the ones the command line can change replaced. */
  private WorldTrainSettings copy(int n, int b, double lr, long s, TimestepSampling sampling) {
    return new WorldTrainSettings(
        n, b, lr, warmupSteps, weightDecay, captionDropout, emaDecay, s, checkpointEvery, sampling);
  }

  /** Learning rate at a 0-based step: linear warm-up, then cosine decay from lr to lr/10. */
  public double learningRateAt(int step) {
    if (step < warmupSteps) {
      return learningRate * (step + 1) / warmupSteps;
    }
    double progress = (double) (step - warmupSteps) / Math.max(1, steps - warmupSteps);
    return learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
  }
}

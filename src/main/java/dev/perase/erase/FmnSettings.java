package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * Settings of FMN's attention re-steering (Zhang et al. 2023, "Forget-Me-Not"; {@link
 * AttentionResteering}). Before training, the frozen original model generates a small pool of
 * images of the concept (FMN trains on a handful of concept images: ten in its examples); each step
 * noises one of them to a random timestep.
 *
 * @param poolSize concept images generated before training
 * @param poolSteps DDIM steps of that generation
 * @param poolGuidance classifier-free guidance of that generation
 * @param batchSize pool images per training step (FMN: 1)
 */
public record FmnSettings(
    @JsonProperty("pool_size") int poolSize,
    @JsonProperty("pool_steps") int poolSteps,
    @JsonProperty("pool_guidance") double poolGuidance,
    @JsonProperty("batch_size") int batchSize) {

  /** 10 concept images from 50 DDIM steps at guidance 7.5, one per training step. */
  public static final FmnSettings DEFAULT = new FmnSettings(10, 50, 7.5, 1);

  public FmnSettings {
    if (poolSize < 1 || poolSize > 10_000) {
      throw new BadInputException(
          "FMN's number of concept images must be between 1 and 10000, got " + poolSize);
    }
    if (poolSteps < 1 || poolSteps > 1000) {
      throw new BadInputException(
          "FMN's image generation steps must be between 1 and 1000, got " + poolSteps);
    }
    if (!Double.isFinite(poolGuidance) || poolGuidance < 0) {
      throw new BadInputException(
          "FMN's image generation guidance must be a finite number ≥ 0, got " + poolGuidance);
    }
    if (batchSize < 1 || batchSize > 1024) {
      throw new BadInputException("FMN's batch size must be between 1 and 1024, got " + batchSize);
    }
  }

  public FmnSettings withPool(int size, int steps) {
    return new FmnSettings(size, steps, poolGuidance, batchSize);
  }

  /** The same with another generation guidance. */
  public FmnSettings withPoolGuidance(double g) {
    return new FmnSettings(poolSize, poolSteps, g, batchSize);
  }
}

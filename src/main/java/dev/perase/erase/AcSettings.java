package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * Settings of the AC objective (Kumari et al. 2023, "Ablating Concepts", model-based variant; paper
 * Eq. 3). Before training, the frozen original model generates a small pool of images for the
 * anchor prompt; each step noises one of them to a random timestep.
 *
 * @param poolSize images generated for the anchor prompt before training
 * @param poolSteps DDIM steps of that generation
 * @param poolGuidance classifier-free guidance of that generation
 * @param batchSize pool images per training step
 */
public record AcSettings(
    @JsonProperty("pool_size") int poolSize,
    @JsonProperty("pool_steps") int poolSteps,
    @JsonProperty("pool_guidance") double poolGuidance,
    @JsonProperty("batch_size") int batchSize) {

  /** 8 anchor images from 50 DDIM steps at guidance 7.5, one per training step. */
  public static final AcSettings DEFAULT = new AcSettings(8, 50, 7.5, 1);

  public AcSettings {
    if (poolSize < 1 || poolSize > 10_000) {
      throw new BadInputException(
          "AC's anchor pool size must be between 1 and 10000, got " + poolSize);
    }
    if (poolSteps < 1 || poolSteps > 1000) {
      throw new BadInputException(
          "AC's anchor generation steps must be between 1 and 1000, got " + poolSteps);
    }
    if (!Double.isFinite(poolGuidance) || poolGuidance < 0) {
      throw new BadInputException(
          "AC's anchor generation guidance must be a finite number ≥ 0, got " + poolGuidance);
    }
    if (batchSize < 1 || batchSize > 1024) {
      throw new BadInputException("AC's batch size must be between 1 and 1024, got " + batchSize);
    }
  }

  public AcSettings withPool(int size, int steps) {
    return new AcSettings(size, steps, poolGuidance, batchSize);
  }

  public AcSettings withBatchSize(int b) {
    return new AcSettings(poolSize, poolSteps, poolGuidance, b);
  }

  /** The same with another generation guidance. */
  public AcSettings withPoolGuidance(double g) {
    return new AcSettings(poolSize, poolSteps, g, batchSize);
  }
}

package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

/**
 * The loss an attack minimises over the adversarial tokens, given the text conditioning of the
 * attacked prompt; computed on the attacked model (the UNet as it is, edit applied) inside gradient
 * recording.
 */
public sealed interface AttackObjective permits UnlearnDiffObjective, P4dObjective {
  /**
   * The scalar loss of iteration {@code iteration} of attempt {@code attempt} (both 0-based) for
   * the conditioning {@code condition} (1, L, D), in {@code scope}.
   */
  NDArray loss(NDArray condition, int attempt, int iteration, NDManager scope);

  /** Arrays the loss reads, for temp-attaching in step scopes. */
  NDList arrays();

  /** The objective of {@code method} on one prompt's reference. */
  static AttackObjective of(
      AttackMethod method,
      dev.perase.pipeline.StableDiffusion sd,
      Reference reference,
      AttemptSchedule schedule,
      long noiseSeed) {
    return switch (method) {
      case UNLEARNDIFF -> new UnlearnDiffObjective(sd, reference, schedule, noiseSeed);
      case P4D -> new P4dObjective(sd, reference, schedule);
    };
  }
}

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
   * The losses (A,) of iteration {@code iteration} (0-based) of the attempts {@code attempts}
   * (0-based, A of them) for their conditionings {@code condition} (A, L, D), one UNet call for
   * all, in {@code scope}. Attempt j's loss depends only on row j, so the gradient of their sum
   * reaches each attempt's tokens as its own loss's gradient.
   */
  NDArray losses(NDArray condition, int[] attempts, int iteration, NDManager scope);

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

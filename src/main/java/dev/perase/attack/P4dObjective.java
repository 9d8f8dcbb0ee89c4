package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.pipeline.StableDiffusion;

/**
 * P4D's loss (Chin et al. 2023, "Prompting4Debugging", Eq. 2): the attacked model's noise
 * prediction for the adversarial prompt matched to the original model's for the original prompt, at
 * the point x_t of θ*'s own guided trajectory for the prompt and seed where the attempt sits:
 *
 * <pre>
 *   L = mean (ε_θ(x_t, c_adv, t) − ε*(x_t, c, t))²
 * </pre>
 *
 * Both predictions are conditional (no guidance), as in the P4D code. (The P4D code draws x_t by
 * noising θ*'s final image at a random t; here x_t lies on the trajectory that made that image, at
 * the attempt's timestep, so the loss is deterministic within an attempt.)
 */
public final class P4dObjective implements AttackObjective {
  private final StableDiffusion sd;
  private final Reference reference;
  private final AttemptSchedule schedule;

  P4dObjective(StableDiffusion sd, Reference reference, AttemptSchedule schedule) {
    this.sd = sd;
    this.reference = reference;
    this.schedule = schedule;
  }

  @Override
  public NDArray loss(NDArray condition, int attempt, int iteration, NDManager scope) {
    NDArray xt = reference.trajectory(attempt);
    NDArray t = scope.create(new float[] {schedule.timestep(attempt)});
    NDArray pred = sd.unet().forward(xt, t, condition);
    NDArray diff = pred.sub(reference.target(attempt));
    return diff.mul(diff).mean();
  }

  @Override
  public NDList arrays() {
    return reference.arrays();
  }
}

package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
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
  public NDArray losses(NDArray condition, int[] attempts, int iteration, NDManager scope) {
    int a = attempts.length;
    NDList xts = new NDList(a);
    NDList targets = new NDList(a);
    float[] ts = new float[a];
    for (int j = 0; j < a; j++) {
      xts.add(reference.trajectory(attempts[j]));
      targets.add(reference.target(attempts[j]));
      ts[j] = schedule.timestep(attempts[j]);
    }
    NDArray xt = a == 1 ? xts.get(0) : NDArrays.concat(xts, 0); // (A, C, h, w)
    NDArray target = a == 1 ? targets.get(0) : NDArrays.concat(targets, 0);
    NDArray pred = sd.unet().forward(xt, scope.create(ts), condition);
    NDArray diff = pred.sub(target);
    return diff.mul(diff).reshape(a, -1).mean(new int[] {1}); // (A,)
  }

  @Override
  public NDList arrays() {
    return reference.arrays();
  }
}

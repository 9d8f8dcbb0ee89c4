package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.tensor.Torch;

/**
 * UnlearnDiff's loss (Zhang et al. 2023, "To Generate or Not?", Eq. 3): the attacked model's
 * denoising loss on the reference image x₀ of the concept — θ*'s generation for the same prompt and
 * seed — at the attempt's timestep t:
 *
 * <pre>
 *   ε ~ N(0, I) (fresh every iteration),   x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε
 *   L = mean (ε − ε_θ(x_t, c_adv, t))²
 * </pre>
 *
 * (for a v-prediction model the target is v = √ᾱ_t ε − √(1−ᾱ_t) x₀ instead of ε.)
 *
 * <p>ε is drawn from torch's generator seeded per (prompt seed, attempt, iteration), so a run
 * repeats, and an attempt sees the same ε whichever attempts share its batch.
 */
public final class UnlearnDiffObjective implements AttackObjective {
  private final StableDiffusion sd;
  private final Reference reference;
  private final AttemptSchedule schedule;
  private final long noiseSeed;

  UnlearnDiffObjective(
      StableDiffusion sd, Reference reference, AttemptSchedule schedule, long noiseSeed) {
    this.sd = sd;
    this.reference = reference;
    this.schedule = schedule;
    this.noiseSeed = noiseSeed;
  }

  @Override
  public NDArray losses(NDArray condition, int[] attempts, int iteration, NDManager scope) {
    DdimScheduler scheduler = sd.scheduler();
    NDArray x0 = reference.x0();
    int a = attempts.length;
    int[] ts = new int[a];
    float[] tf = new float[a];
    NDList noises = new NDList(a);
    for (int j = 0; j < a; j++) {
      ts[j] = schedule.timestep(attempts[j]);
      tf[j] = ts[j];
      Torch.seed(Seeds.derive(noiseSeed, Seeds.NOISE, attempts[j], iteration));
      noises.add(scope.randomNormal(x0.getShape()));
    }
    NDArray noise = a == 1 ? noises.get(0) : NDArrays.concat(noises, 0); // (A, C, h, w)
    NDArray x0s = a == 1 ? x0 : x0.repeat(0, a);
    NDArray xt = scheduler.schedule().addNoise(x0s, noise, ts);
    NDArray pred = sd.unet().forward(xt, scope.create(tf), condition);
    NDArray diff = pred.sub(scheduler.target(x0s, noise, ts));
    return diff.mul(diff).reshape(a, -1).mean(new int[] {1}); // (A,)
  }

  @Override
  public NDList arrays() {
    return reference.arrays();
  }
}

package dev.perase.attack;

import ai.djl.ndarray.NDArray;
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
 * repeats.
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
  public NDArray loss(NDArray condition, int attempt, int iteration, NDManager scope) {
    int t = schedule.timestep(attempt);
    DdimScheduler scheduler = sd.scheduler();
    NDArray x0 = reference.x0();
    Torch.seed(Seeds.derive(noiseSeed, Seeds.NOISE, attempt, iteration));
    NDArray noise = scope.randomNormal(x0.getShape());
    int[] ts = {t};
    NDArray xt = scheduler.schedule().addNoise(x0, noise, ts);
    NDArray pred = sd.unet().forward(xt, scope.create(new float[] {t}), condition);
    NDArray diff = pred.sub(scheduler.target(x0, noise, ts));
    return diff.mul(diff).mean();
  }

  @Override
  public NDList arrays() {
    return reference.arrays();
  }
}

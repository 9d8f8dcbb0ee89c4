package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.tensor.Torch;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The ESD objective (Gandikota et al. 2023, "Erasing Concepts from Diffusion Models"; paper Eq. 2):
 *
 * <pre>
 *   target = ε*(x_t, c₀, t) − η [ε*(x_t, c, t) − ε*(x_t, c₀, t)],   c₀ = "" (the null prompt)
 * </pre>
 *
 * guidance away from the concept c, from the frozen model θ*. x_t and t are drawn as in the
 * original code ({@code train-scripts/train-esd.py} with its modified CompVis DDIM sampler), with N
 * DDIM steps (50) over T training timesteps (1000):
 *
 * <ol>
 *   <li>k uniform in [0, N) ({@code t_enc});
 *   <li>t uniform in [round(k·T/N), round((k+1)·T/N)) ({@code t_enc_ddpm}; round half to even, as
 *       Python's {@code round});
 *   <li>x_t: fresh Gaussian noise, DDIM-sampled with the concept prompt at the start guidance (3)
 *       by the model being erased (or by θ* with the "frozen" source). The CompVis sampler's {@code
 *       till_T = k} walks the loop from its noisiest step and stops after the step with index k −
 *       1, so it runs {@code min(N, N + 1 − k)} steps: all N for k ≤ 1, two for k = N − 1. x_t then
 *       sits a little below the noise level of t (for N = 50 at timestep 20k − 39 for t in [20k,
 *       20k + 20)), not at the opposite end of the schedule as a plain "k steps" would put it.
 * </ol>
 *
 * The loss is taken on the concept prompt itself (ESD's {@code emb_n} equals {@code emb_p}).
 */
public final class Esd implements ErasureObjective {
  private final StableDiffusion sd;
  private final FrozenModel frozen;
  private final EsdSettings settings;
  private final int latentSize;

  /** [ε-embedding of ""; of c], (2, 77, D): unconditional rows first, as the pipeline's CFG. */
  private final NDArray guide;

  /** The embedding of c, (1, 77, D). */
  private final NDArray concept;

  /**
   * Encodes "" and the concept prompt into {@code manager}.
   *
   * @param frozen how to reach θ*
   * @param latentSize side of the sampled latents
   */
  public Esd(
      StableDiffusion sd,
      FrozenModel frozen,
      EsdSettings settings,
      String conceptPrompt,
      int latentSize,
      NDManager manager) {
    this.sd = sd;
    this.frozen = frozen;
    this.settings = settings;
    this.latentSize = latentSize;
    this.guide = sd.encodePrompts(List.of("", conceptPrompt), manager);
    this.concept = guide.get(new NDIndex("1:2"));
  }

  public EsdSettings settings() {
    return settings;
  }

  @Override
  public NDList arrays() {
    return new NDList(guide, concept);
  }

  /** Eq. 2: {@code ε*(c₀) − η (ε*(c) − ε*(c₀))}; the result lands in {@code eNull}'s manager. */
  public static NDArray target(NDArray eNull, NDArray eConcept, double eta) {
    return eNull.sub(eConcept.sub(eNull).mul((float) eta));
  }

  /**
   * The training timesteps [lo, hi) that DDIM step index k of an N-step loop covers on a T-step
   * schedule: {@code lo = round(k/N · T)}, {@code hi = round((k+1)/N · T)}, rounding half to even
   * as Python's {@code round}.
   */
  public static int[] ddpmInterval(int k, int ddimSteps, int trainTimesteps) {
    int lo = (int) Math.rint((double) k / ddimSteps * trainTimesteps);
    int hi = (int) Math.rint((double) (k + 1) / ddimSteps * trainTimesteps);
    return new int[] {lo, Math.max(hi, lo + 1)};
  }

  /**
   * DDIM steps the CompVis sampler runs with {@code till_T = k} in an N-step loop: it stops after
   * the step whose index (counting down from N − 1) is k − 1, and never stops early for k = 0.
   */
  public static int samplingSteps(int k, int ddimSteps) {
    return Math.min(ddimSteps, ddimSteps + 1 - k);
  }

  @Override
  public Step prepare(SplittableRandom rng, NDManager scope) {
    DdimScheduler scheduler = sd.scheduler();
    int n = settings.ddimSteps();
    int trainSteps = scheduler.schedule().numTrainTimesteps();
    // 1. k, then t inside the stretch of training timesteps that DDIM step k covers
    int k = rng.nextInt(n);
    int[] interval = ddpmInterval(k, n, trainSteps);
    int t = interval[0] + rng.nextInt(interval[1] - interval[0]);
    // 2. x_t: DDIM from fresh noise with c at the start guidance, min(N, N + 1 − k) steps
    Torch.seed(rng.nextLong());
    NDArray start = scope.randomNormal(new Shape(1, sd.latentChannels(), latentSize, latentSize));
    scheduler.setTimesteps(n);
    int[] timesteps = Arrays.copyOf(scheduler.timesteps(), samplingSteps(k, n));
    Supplier<NDArray> sample =
        () -> sd.denoise(start, guide, (float) settings.startGuidance(), timesteps, scope, null);
    NDArray xt =
        settings.xtSource() == EsdSettings.XtSource.FROZEN ? frozen.run(sample) : sample.get();
    // 3. ε*(x_t, c₀, t) and ε*(x_t, c, t) in one batch of two, then Eq. 2
    NDArray eps =
        frozen.run(
            () ->
                sd.unet()
                    .forward(
                        NDArrays.concat(new NDList(xt, xt), 0),
                        scope.create(new float[] {t}),
                        guide));
    NDList parts = eps.split(2, 0);
    NDArray target = target(parts.get(0), parts.get(1), settings.negativeGuidance());
    return new Step(xt, new int[] {t}, concept, target, k);
  }
}

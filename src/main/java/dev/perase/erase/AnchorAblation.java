package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.DdpmSchedule;
import dev.perase.tensor.Torch;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The AC objective (Kumari et al. 2023, "Ablating Concepts in Text-to-Image Diffusion Models",
 * model-based variant; paper Eq. 3): the concept prompt c is mapped onto an anchor prompt c* of the
 * frozen model,
 *
 * <pre>
 *   target = ε*(x_t, c*, t),   loss ‖ε_θ(x_t, c, t) − ε*(x_t, c*, t)‖²
 * </pre>
 *
 * with x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε (DDPM Eq. 4), x₀ drawn from a pool of images that θ* generated
 * for the anchor prompt before training, t uniform over the training timesteps, ε fresh noise. The
 * pool holds latents (the DDIM loop's final latents): AC encodes its generated images with the VAE,
 * which would only add a decode–encode round trip to the same latents.
 */
public final class AnchorAblation implements ErasureObjective {
  private final StableDiffusion sd;
  private final FrozenModel frozen;
  private final AcSettings settings;

  /** Embeddings of c and c*, each (1, 77, D). */
  private final NDArray concept;

  private final NDArray anchor;

  /** Anchor images x₀, (P, C, h, w). */
  private final NDArray pool;

  /**
   * @param pool anchor latents (P, C, h, w) from {@link #generatePool}, attached to {@code manager}
   */
  public AnchorAblation(
      StableDiffusion sd,
      FrozenModel frozen,
      AcSettings settings,
      String conceptPrompt,
      String anchorPrompt,
      NDArray pool,
      NDManager manager) {
    this.sd = sd;
    this.frozen = frozen;
    this.settings = settings;
    NDArray both = sd.encodePrompts(List.of(conceptPrompt, anchorPrompt), manager);
    this.concept = both.get(new NDIndex("0:1"));
    this.anchor = both.get(new NDIndex("1:2"));
    both.close();
    this.pool = pool;
  }

  /**
   * Generates the anchor pool with θ*: for image i, noise from a seed derived from (seed, i), then
   * the guided DDIM loop with the anchor prompt. Returns (P, C, s, s) in {@code manager}.
   */
  public static NDArray generatePool(
      StableDiffusion sd,
      FrozenModel frozen,
      AcSettings settings,
      String anchorPrompt,
      int latentSize,
      long seed,
      NDManager manager) {
    return generateImages(
        sd,
        frozen,
        anchorPrompt,
        settings.poolSize(),
        settings.poolSteps(),
        settings.poolGuidance(),
        latentSize,
        seed,
        manager);
  }

  /**
   * {@code count} images of {@code prompt} by θ*: for image i, noise from a seed derived from
   * (seed, i), then the guided DDIM loop of {@code steps} steps. Returns (count, C, s, s) latents
   * in {@code manager}. AC's anchor pool and FMN's concept images.
   */
  static NDArray generateImages(
      StableDiffusion sd,
      FrozenModel frozen,
      String prompt,
      int count,
      int steps,
      double guidance,
      int latentSize,
      long seed,
      NDManager manager) {
    DdimScheduler scheduler = sd.scheduler();
    try (NDManager tmp = manager.newSubManager()) {
      NDArray guide = sd.encodePrompts(List.of("", prompt), tmp);
      NDList images = new NDList(count);
      SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
      for (int i = 0; i < count; i++) {
        Torch.seed(rng.nextLong());
        NDArray noise = tmp.randomNormal(new Shape(1, sd.latentChannels(), latentSize, latentSize));
        scheduler.setTimesteps(steps);
        int[] timesteps = scheduler.timesteps();
        images.add(
            frozen.run(() -> sd.denoise(noise, guide, (float) guidance, timesteps, tmp, null)));
      }
      NDArray pool = NDArrays.concat(images, 0);
      pool.attach(manager);
      return pool;
    }
  }

  /** The anchor latents x₀, (P, C, h, w), for checkpoints. */
  @Override
  public NDArray pool() {
    return pool;
  }

  @Override
  public NDList arrays() {
    return new NDList(concept, anchor, pool);
  }

  @Override
  public Step prepare(SplittableRandom rng, NDManager scope) {
    int b = settings.batchSize();
    Noised n = noise(pool, b, sd.scheduler().schedule(), rng, scope);
    // target ε*(x_t, c*, t); the loss runs ε_θ on c
    NDArray anchorStates = anchor.repeat(0, b);
    float[] tf = new float[b];
    for (int i = 0; i < b; i++) {
      tf[i] = n.timesteps()[i];
    }
    NDArray target = frozen.run(() -> sd.unet().forward(n.xt(), scope.create(tf), anchorStates));
    return new Step(n.xt(), n.timesteps(), concept.repeat(0, b), target, -1);
  }

  /** Noised pool images x_t and their timesteps t. */
  record Noised(NDArray xt, int[] timesteps) {}

  /**
   * {@code b} pool images, each picked uniformly and noised to a uniform training timestep t: x_t =
   * √ᾱ_t x₀ + √(1 − ᾱ_t) ε (DDPM Eq. 4), ε fresh noise; in {@code scope}.
   */
  static Noised noise(
      NDArray pool, int b, DdpmSchedule schedule, SplittableRandom rng, NDManager scope) {
    int poolSize = (int) pool.getShape().get(0);
    // 1. which images, which timesteps
    NDList picked = new NDList(b);
    int[] t = new int[b];
    for (int i = 0; i < b; i++) {
      int j = rng.nextInt(poolSize);
      picked.add(pool.get(new NDIndex(j + ":" + (j + 1))));
      t[i] = rng.nextInt(schedule.numTrainTimesteps());
    }
    // 2. x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε
    NDArray x0 = NDArrays.concat(picked, 0);
    Torch.seed(rng.nextLong());
    NDArray noise = scope.randomNormal(x0.getShape());
    return new Noised(schedule.addNoise(x0, noise, t), t);
  }
}

package dev.perase.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.DiffusersLayout;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.Taps;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.model.vae.AutoencoderKL;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.LmsDiscreteScheduler;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/**
 * Text-to-image with classifier-free guidance, as diffusers' {@code StableDiffusionPipeline} with a
 * DDIM or an LMS scheduler ({@link Sampler}), both built from the model folder's scheduler config.
 * A model folder without a VAE is a pixel-space model (the built-in world): its "latents" are the
 * images, in [-1, 1].
 */
public final class StableDiffusion implements AutoCloseable {
  private final DiffusersLayout layout;
  private final NDManager manager;
  private final CLIPTokenizer tokenizer;
  private final CLIPTextModel textEncoder;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final DdimScheduler scheduler;
  private LmsDiscreteScheduler lmsScheduler;

  private StableDiffusion(
      DiffusersLayout layout,
      NDManager manager,
      CLIPTokenizer tokenizer,
      CLIPTextModel textEncoder,
      UNet2DConditionModel unet,
      AutoencoderKL vae,
      DdimScheduler scheduler) {
    this.layout = layout;
    this.manager = manager;
    this.tokenizer = tokenizer;
    this.textEncoder = textEncoder;
    this.unet = unet;
    this.vae = vae;
    this.scheduler = scheduler;
  }

  /** Loads a diffusers-layout model folder (strict: every key used, every shape checked). */
  public static StableDiffusion load(Path dir) {
    DiffusersLayout layout = DiffusersLayout.open(dir);
    NDManager manager = Torch.newManager();
    try {
      CLIPTokenizer tokenizer =
          CLIPTokenizer.load(layout.folder(DiffusersLayout.Component.TOKENIZER));
      CLIPTextModel textEncoder =
          CLIPTextModel.load(layout.folder(DiffusersLayout.Component.TEXT_ENCODER), manager);
      UNet2DConditionModel unet =
          UNet2DConditionModel.load(layout.folder(DiffusersLayout.Component.UNET), manager);
      AutoencoderKL vae =
          layout.hasVae()
              ? AutoencoderKL.load(layout.folder(DiffusersLayout.Component.VAE), manager)
              : null;
      DdimScheduler scheduler = Schedulers.ddim(layout.schedulerConfig());
      return new StableDiffusion(layout, manager, tokenizer, textEncoder, unet, vae, scheduler);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  public DiffusersLayout layout() {
    return layout;
  }

  public NDManager manager() {
    return manager;
  }

  public CLIPTokenizer tokenizer() {
    return tokenizer;
  }

  public CLIPTextModel textEncoder() {
    return textEncoder;
  }

  public UNet2DConditionModel unet() {
    return unet;
  }

  /** The VAE, or null for a pixel-space model. */
  public AutoencoderKL vae() {
    return vae;
  }

  /** The DDIM scheduler: the default sampler, and the timesteps of training and attacks. */
  public DdimScheduler scheduler() {
    return scheduler;
  }

  /**
   * The LMS scheduler of the model folder's scheduler config ({@link Schedulers#lms}), built on
   * first use so that a config only DDIM can run still loads.
   */
  public LmsDiscreteScheduler lmsScheduler() {
    if (lmsScheduler == null) {
      lmsScheduler = Schedulers.lms(layout.schedulerConfig());
    }
    return lmsScheduler;
  }

  /** Spatial factor between image and latent: 2^(VAE levels − 1), or 1 in pixel space. */
  public int latentFactor() {
    return vae == null ? 1 : vae.downsampleFactor();
  }

  public int latentChannels() {
    return unet.config().inChannels();
  }

  /** Every array the models own, for temp-attaching in a step scope. */
  public NDList parameterArrays() {
    NDList all = new NDList();
    all.addAll(textEncoder.params().arrays());
    all.addAll(unet.params().arrays());
    if (vae != null) {
      all.addAll(vae.params().arrays());
    }
    return all;
  }

  /** CLIP last hidden states (B, 77, D) of the prompts, padded to 77 with the end token. */
  public NDArray encodePrompts(List<String> prompts, NDManager into) {
    return encodeIds(tokenizer.encode(prompts), into);
  }

  /**
   * CLIP last hidden states (B, L, D) of token ids already padded to the tokenizer's length L (an
   * attacked prompt's ids, whose text need not tokenize back to them).
   */
  public NDArray encodeIds(long[][] ids, NDManager into) {
    try (StepScope scope = StepScope.open(into, textEncoder.params().arrays())) {
      NDArray idArray = scope.manager().create(ids);
      return scope.keep(textEncoder.forward(idArray));
    }
  }

  /**
   * Initial latents as diffusers draws them with {@code torch.Generator().manual_seed(seed)} on
   * CPU: randn of shape (batch, C, h/f, w/f) from a freshly seeded generator, before the sampler's
   * init_noise_sigma (1 for DDIM; {@link #denoiseLms} applies the LMS one).
   */
  public NDArray initialLatents(long seed, int batch, int height, int width, NDManager into) {
    int f = latentFactor();
    Torch.seed(seed);
    return into.randomNormal(new Shape(batch, latentChannels(), height / f, width / f));
  }

  /**
   * The result of a run: final latents (before VAE decoding) and images in [-1, 1], (B, 3, H, W).
   */
  public record Images(NDArray latents, NDArray images) {}

  /** Runs the whole pipeline; {@code onStep} is told each finished denoising step (1-based). */
  public Images generate(GenerateSettings s, NDManager into, IntConsumer onStep) {
    int f = latentFactor();
    if (s.height() % f != 0 || s.width() % f != 0) {
      throw new dev.perase.io.BadInputException(
          "--height and --width must be multiples of " + f + " for this model");
    }
    // 1. prompt embeddings: [uncond ×n, cond ×n], uncond = "" unless a negative prompt is given
    int n = s.numImages();
    String negative = s.negativePrompt() == null ? "" : s.negativePrompt();
    List<String> prompts = new ArrayList<>(Collections.nCopies(n, negative));
    prompts.addAll(Collections.nCopies(n, s.prompt()));
    try (NDManager run = manager.newSubManager()) {
      NDArray embeddings = encodePrompts(prompts, run);
      // 2. initial latents; 3. the sampler's timesteps and denoising loop
      NDArray latents = initialLatents(s.seed(), n, s.height(), s.width(), run);
      latents = sample(s.sampler(), latents, embeddings, s.guidance(), s.steps(), run, onStep);
      // 4. decode
      NDArray images = decode(latents, run);
      latents.attach(into);
      images.attach(into);
      return new Images(latents, images);
    }
  }

  /** {@link #generateRows(Sampler, List, long[], float, int, int, int, NDManager)} with DDIM. */
  public NDArray generateRows(
      List<String> prompts,
      long[] seeds,
      float guidance,
      int steps,
      int height,
      int width,
      NDManager into) {
    return generateRows(Sampler.DDIM, prompts, seeds, guidance, steps, height, width, into);
  }

  /**
   * Generates one image per prompt in one batch, each from its own seed as diffusers does when
   * given a generator per prompt (so image i equals a single run of prompt i with seed i), at a
   * common guidance scale, with {@code sampler}. Returns images in [-1, 1], (B, 3, H, W), in {@code
   * into}.
   */
  public NDArray generateRows(
      Sampler sampler,
      List<String> prompts,
      long[] seeds,
      float guidance,
      int steps,
      int height,
      int width,
      NDManager into) {
    if (prompts.size() != seeds.length || prompts.isEmpty()) {
      throw new IllegalArgumentException("one seed per prompt");
    }
    int n = prompts.size();
    List<String> all = new ArrayList<>(Collections.nCopies(n, ""));
    all.addAll(prompts);
    try (NDManager run = manager.newSubManager()) {
      NDArray embeddings = encodePrompts(all, run);
      NDList rows = new NDList(n);
      for (long seed : seeds) {
        rows.add(initialLatents(seed, 1, height, width, run));
      }
      NDArray latents = NDArrays.concat(rows, 0);
      latents = sample(sampler, latents, embeddings, guidance, steps, run, null);
      NDArray images = decode(latents, run);
      images.attach(into);
      return images;
    }
  }

  /**
   * The whole denoising loop of {@code sampler} over {@code steps} steps, from the seed's noise
   * ({@link #initialLatents}) to the final latents: DDIM's {@link #denoise} over all its timesteps,
   * or {@link #denoiseLms}. {@code embeddings} stacks the unconditional rows on top of the
   * conditional ones; {@code onStep} (may be null) is told each finished step (1-based).
   */
  public NDArray sample(
      Sampler sampler,
      NDArray noise,
      NDArray embeddings,
      float guidance,
      int steps,
      NDManager into,
      IntConsumer onStep) {
    return switch (sampler) {
      case DDIM -> {
        scheduler.setTimesteps(steps);
        yield denoise(noise, embeddings, guidance, scheduler.timesteps(), into, onStep);
      }
      case LMS -> denoiseLms(noise, embeddings, guidance, steps, into, onStep);
    };
  }

  /**
   * The guided LMS loop of diffusers' {@code StableDiffusionPipeline.__call__} with {@code
   * LMSDiscreteScheduler}: latents = noise · init_noise_sigma; then per timestep t the UNet sees
   * scale_model_input(latents) = latents / √(σ_t² + 1), ε = ε_u + g (ε_c − ε_u), and the scheduler
   * takes its multistep step. The scheduler's derivative history lives in {@code into}.
   *
   * @param noise the seed's noise ({@link #initialLatents}), (B, C, h, w); not consumed
   */
  public NDArray denoiseLms(
      NDArray noise,
      NDArray embeddings,
      float guidance,
      int steps,
      NDManager into,
      IntConsumer onStep) {
    LmsDiscreteScheduler lms = lmsScheduler();
    // 1. timesteps and sigmas
    lms.setTimesteps(steps, into);
    // 2. latents · init_noise_sigma
    NDArray latents = noise.mul(lms.initNoiseSigma());
    latents.attach(into);
    // 3. denoising loop
    NDList persistent = unet.params().arrays();
    int i = 0;
    for (float t : lms.timesteps()) {
      persistent.add(latents);
      persistent.add(embeddings);
      try (StepScope scope = StepScope.open(into, persistent)) {
        NDArray latentModelInput = lms.scaleModelInput(latents, t);
        NDArray noisePred = guidedNoise(latentModelInput, embeddings, t, guidance, scope.manager());
        NDArray next = scope.keep(lms.step(noisePred, t, latents));
        latents.close(); // an intermediate of this loop
        latents = next;
      }
      persistent.remove(persistent.size() - 1);
      persistent.remove(persistent.size() - 1);
      i++;
      if (onStep != null) {
        onStep.accept(i);
      }
    }
    return latents;
  }

  /**
   * The guided DDIM loop from {@code latents} over {@code timesteps}: ε = ε_u + g (ε_c − ε_u),
   * where {@code embeddings} stacks the unconditional rows on top of the conditional ones.
   */
  public NDArray denoise(
      NDArray latents,
      NDArray embeddings,
      float guidance,
      int[] timesteps,
      NDManager into,
      IntConsumer onStep) {
    return denoise(latents, embeddings, guidance, timesteps, into, onStep, null);
  }

  /**
   * {@link #denoise(NDArray, NDArray, float, int[], NDManager, IntConsumer)} with activation taps:
   * the UNet call of denoising step i (1-based, as {@code onStep} counts) reports to {@code
   * taps.apply(i)} (null or {@link Taps#NONE}: nothing). The tapped arrays stack the unconditional
   * rows on top of the conditional ones, as {@code embeddings} does, and live in the step's scope.
   * Taps only observe: the latents are the same with or without them.
   */
  public NDArray denoise(
      NDArray latents,
      NDArray embeddings,
      float guidance,
      int[] timesteps,
      NDManager into,
      IntConsumer onStep,
      IntFunction<Taps> taps) {
    NDList persistent = unet.params().arrays();
    int i = 0;
    for (int t : timesteps) {
      persistent.add(latents);
      persistent.add(embeddings);
      Taps stepTaps = taps == null ? null : taps.apply(i + 1);
      try (StepScope scope = StepScope.open(into, persistent)) {
        NDArray noisePred =
            guidedNoise(
                latents,
                embeddings,
                t,
                guidance,
                scope.manager(),
                stepTaps == null ? Taps.NONE : stepTaps);
        NDArray next = scope.keep(scheduler.step(noisePred, t, latents));
        if (i > 0) {
          latents.close(); // an intermediate of this loop, not the caller's input
        }
        latents = next;
      }
      persistent.remove(persistent.size() - 1);
      persistent.remove(persistent.size() - 1);
      i++;
      if (onStep != null) {
        onStep.accept(i);
      }
    }
    return latents;
  }

  /** Classifier-free guided noise prediction at timestep t for latents (B, C, h, w). */
  public NDArray guidedNoise(
      NDArray latents, NDArray embeddings, float t, float guidance, NDManager scope) {
    return guidedNoise(latents, embeddings, t, guidance, scope, Taps.NONE);
  }

  /** {@link #guidedNoise(NDArray, NDArray, float, float, NDManager)}, reporting to {@code taps}. */
  public NDArray guidedNoise(
      NDArray latents, NDArray embeddings, float t, float guidance, NDManager scope, Taps taps) {
    NDArray input = NDArrays.concat(new NDList(latents, latents), 0);
    NDArray timestep = scope.create(new float[] {t});
    NDArray noise = unet.forward(input, timestep, embeddings, taps);
    NDList parts = noise.split(2, 0);
    NDArray uncond = parts.get(0);
    NDArray cond = parts.get(1);
    return uncond.add(cond.sub(uncond).mul(guidance));
  }

  /**
   * Latents → images in [-1, 1]: the VAE decode of latents / scaling_factor, or the latents
   * themselves.
   */
  public NDArray decode(NDArray latents, NDManager into) {
    if (vae == null) {
      return latents.duplicate();
    }
    NDList persistent = vae.params().arrays();
    persistent.add(latents);
    try (StepScope scope = StepScope.open(into, persistent)) {
      return scope.keep(vae.decode(latents.div(vae.scalingFactor())));
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}

package dev.perase.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.ModelSource;
import dev.perase.io.SingleFileCheckpoint;
import dev.perase.io.SingleFileLayout;
import dev.perase.model.clip.CLIPTextConfig;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Taps;
import dev.perase.model.unet.UNet2DConditionConfig;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.model.vae.AutoencoderKL;
import dev.perase.model.vae.AutoencoderKLConfig;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.LmsDiscreteScheduler;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
  /**
   * Images per UNet call (each doubled by classifier-free guidance) when a caller draws many: the
   * default of {@code --batch} in generate, evaluate, attack and the demo. Measured on the world
   * model (README, Speed): throughput grows to batch 8 and little beyond it, while memory grows in
   * proportion.
   */
  public static final int DEFAULT_BATCH = 8;

  private final ModelSource layout;
  private final NDManager manager;
  private final CLIPTokenizer tokenizer;
  private final CLIPTextModel textEncoder;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final DdimScheduler scheduler;
  private LmsDiscreteScheduler lmsScheduler;

  private StableDiffusion(
      ModelSource layout,
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

  /**
   * Loads a diffusers-layout model folder (a single-file checkpoint needs {@link #load(Path,
   * Path)}, for its tokenizer).
   */
  public static StableDiffusion load(Path model) {
    return load(model, null);
  }

  /**
   * Loads {@code model}: a diffusers folder ({@code config} null), or a single-file checkpoint with
   * the configs and tokenizer of the diffusers folder {@code config} ({@link ModelSource#open}).
   */
  public static StableDiffusion load(Path model, Path config) {
    return load(ModelSource.open(model, config));
  }

  /** Loads a model (strict: every key used, every shape checked). */
  public static StableDiffusion load(ModelSource source) {
    NDManager manager = Torch.newManager();
    try {
      CLIPTokenizer tokenizer = CLIPTokenizer.load(source.tokenizerFolder());
      CLIPTextModel textEncoder;
      UNet2DConditionModel unet;
      AutoencoderKL vae;
      if (source instanceof DiffusersLayout layout) {
        textEncoder = CLIPTextModel.load(layout.folder(Component.TEXT_ENCODER), manager);
        unet = UNet2DConditionModel.load(layout.folder(Component.UNET), manager);
        vae = layout.hasVae() ? AutoencoderKL.load(layout.folder(Component.VAE), manager) : null;
      } else {
        SingleFileLayout single = (SingleFileLayout) source;
        SingleFileCheckpoint.Components w = single.load(manager);
        String file = single.file().toString();
        textEncoder =
            CLIPTextModel.fromStateDict(
                source.readConfig(Component.TEXT_ENCODER, CLIPTextConfig.class),
                new StateDict(file + " (text encoder)", w.textEncoder()));
        unet =
            UNet2DConditionModel.fromStateDict(
                source.readConfig(Component.UNET, UNet2DConditionConfig.class),
                new StateDict(file + " (UNet)", w.unet()));
        vae =
            AutoencoderKL.fromStateDict(
                source.readConfig(Component.VAE, AutoencoderKLConfig.class),
                new StateDict(file + " (VAE)", w.vae()));
      }
      DdimScheduler scheduler = Schedulers.ddim(source.schedulerConfig());
      return new StableDiffusion(source, manager, tokenizer, textEncoder, unet, vae, scheduler);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Where the model came from: its folder or single file, configs and hash. */
  public ModelSource layout() {
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

  /** Runs the whole pipeline in one batch; {@code onStep} is told each finished step (1-based). */
  public Images generate(GenerateSettings s, NDManager into, IntConsumer onStep) {
    return generate(s, s.numImages(), into, onStep);
  }

  /**
   * Runs the whole pipeline, at most {@code batch} images per UNet call. The initial latents of all
   * {@code numImages} images are drawn at once from the seed, as diffusers draws them with one
   * generator, and split into batches of rows, so image i is the same (within float rounding) at
   * any batch size, and bit for bit the one-batch image when {@code batch ≥ numImages}. {@code
   * onStep} is told each finished step, counted over all batches (1 … steps × batches).
   */
  public Images generate(GenerateSettings s, int batch, NDManager into, IntConsumer onStep) {
    int f = latentFactor();
    if (s.height() % f != 0 || s.width() % f != 0) {
      throw new dev.perase.io.BadInputException(
          "--height and --width must be multiples of " + f + " for this model");
    }
    if (batch < 1) {
      throw new IllegalArgumentException("batch " + batch);
    }
    int n = s.numImages();
    String negative = s.negativePrompt() == null ? "" : s.negativePrompt();
    try (NDManager run = manager.newSubManager()) {
      // 1. initial latents of every image
      NDArray noise = initialLatents(s.seed(), n, s.height(), s.width(), run);
      NDList latentParts = new NDList();
      NDList imageParts = new NDList();
      for (int from = 0, b = 0; from < n; from += batch, b++) {
        int c = Math.min(batch, n - from);
        int stepsBefore = b * s.steps();
        // 2. prompt embeddings: [uncond ×c, cond ×c], uncond = "" unless a negative prompt is given
        List<String> prompts = new ArrayList<>(Collections.nCopies(c, negative));
        prompts.addAll(Collections.nCopies(c, s.prompt()));
        NDArray embeddings = encodePrompts(prompts, run);
        NDArray latents = c == n ? noise : noise.get(new NDIndex("{}:{}", from, from + c));
        // 3. the sampler's timesteps and denoising loop
        latents =
            sample(
                s.sampler(),
                latents,
                embeddings,
                s.guidance(),
                s.steps(),
                run,
                onStep == null ? null : step -> onStep.accept(stepsBefore + step));
        // 4. decode
        latentParts.add(latents);
        imageParts.add(decode(latents, run));
      }
      NDArray latents = latentParts.size() == 1 ? latentParts.get(0) : NDArrays.concat(latentParts);
      NDArray images = imageParts.size() == 1 ? imageParts.get(0) : NDArrays.concat(imageParts);
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
    float[] g = new float[seeds.length];
    Arrays.fill(g, guidance);
    return generateRows(sampler, prompts, seeds, g, steps, height, width, into, null);
  }

  /**
   * Generates one image per prompt in one batch, each with its own seed (its initial latents drawn
   * as {@link #initialLatents} draws one image's) and its own guidance scale, with {@code sampler}:
   * image i equals a single run of prompt i with seed i and guidance i, within float rounding, and
   * a batch of one is bit for bit {@link #generate} of one image. Returns images in [-1, 1], (B, 3,
   * H, W), in {@code into}; {@code onStep} (may be null) is told each finished step (1-based).
   */
  public NDArray generateRows(
      Sampler sampler,
      List<String> prompts,
      long[] seeds,
      float[] guidance,
      int steps,
      int height,
      int width,
      NDManager into,
      IntConsumer onStep) {
    if (prompts.size() != seeds.length || prompts.isEmpty() || guidance.length != seeds.length) {
      throw new IllegalArgumentException("one seed and one guidance per prompt");
    }
    int n = prompts.size();
    List<String> all = new ArrayList<>(Collections.nCopies(n, ""));
    all.addAll(prompts);
    try (NDManager run = manager.newSubManager()) {
      NDArray embeddings = encodePrompts(all, run);
      return sampleRows(sampler, embeddings, seeds, guidance, steps, height, width, into, onStep);
    }
  }

  /**
   * Generates one image per row of token ids (B, L), each already padded to the tokenizer's length
   * (an attacked prompt's ids, whose text need not tokenize back to them), with the unconditional
   * embedding of "", each with its own seed and guidance: row i equals {@link #generateRows} of a
   * prompt with those ids within float rounding. Images in [-1, 1], (B, 3, H, W), in {@code into}.
   */
  public NDArray generateIds(
      Sampler sampler,
      long[][] ids,
      long[] seeds,
      float[] guidance,
      int steps,
      int height,
      int width,
      NDManager into) {
    if (ids.length != seeds.length || ids.length == 0 || guidance.length != seeds.length) {
      throw new IllegalArgumentException("one seed and one guidance per row of ids");
    }
    int n = ids.length;
    try (NDManager run = manager.newSubManager()) {
      NDArray uncond = encodePrompts(Collections.nCopies(n, ""), run);
      NDArray cond = encodeIds(ids, run);
      NDArray embeddings = NDArrays.concat(new NDList(uncond, cond), 0); // [uncond; cond]
      return sampleRows(sampler, embeddings, seeds, guidance, steps, height, width, into, null);
    }
  }

  /** Each seed's initial latents, the sampler's loop and the decoding, for {@code embeddings}. */
  private NDArray sampleRows(
      Sampler sampler,
      NDArray embeddings,
      long[] seeds,
      float[] guidance,
      int steps,
      int height,
      int width,
      NDManager into,
      IntConsumer onStep) {
    try (NDManager run = manager.newSubManager()) {
      NDList rows = new NDList(seeds.length);
      for (long seed : seeds) {
        rows.add(initialLatents(seed, 1, height, width, run));
      }
      NDArray latents = rows.size() == 1 ? rows.get(0) : NDArrays.concat(rows, 0);
      latents = sample(sampler, latents, embeddings, guidance, steps, run, onStep);
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
    return sample(sampler, noise, embeddings, new float[] {guidance}, steps, into, onStep);
  }

  /**
   * {@link #sample(Sampler, NDArray, NDArray, float, int, NDManager, IntConsumer)} with a guidance
   * scale per image ({@code guidance} of length B, or of length 1 for all).
   */
  public NDArray sample(
      Sampler sampler,
      NDArray noise,
      NDArray embeddings,
      float[] guidance,
      int steps,
      NDManager into,
      IntConsumer onStep) {
    return switch (sampler) {
      case DDIM -> {
        scheduler.setTimesteps(steps);
        yield denoise(noise, embeddings, guidance, scheduler.timesteps(), into, onStep, null);
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
    return denoiseLms(noise, embeddings, new float[] {guidance}, steps, into, onStep);
  }

  /**
   * {@link #denoiseLms(NDArray, NDArray, float, int, NDManager, IntConsumer)}, guidance per image.
   */
  public NDArray denoiseLms(
      NDArray noise,
      NDArray embeddings,
      float[] guidance,
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
        NDArray noisePred =
            guidedNoise(latentModelInput, embeddings, t, guidance, scope.manager(), Taps.NONE);
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
    return denoise(latents, embeddings, new float[] {guidance}, timesteps, into, onStep, taps);
  }

  /**
   * {@link #denoise(NDArray, NDArray, float, int[], NDManager, IntConsumer, IntFunction)} with a
   * guidance scale per image ({@code guidance} of length B, or of length 1 for all).
   */
  public NDArray denoise(
      NDArray latents,
      NDArray embeddings,
      float[] guidance,
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
    return guidedNoise(latents, embeddings, t, new float[] {guidance}, scope, taps);
  }

  /**
   * Classifier-free guided noise prediction with a guidance scale per image: ε_i = ε_u,i + g_i
   * (ε_c,i − ε_u,i). {@code guidance} has length B, or length 1 for all; when every scale is the
   * same it multiplies as a scalar, bit for bit the one-scale form.
   */
  public NDArray guidedNoise(
      NDArray latents, NDArray embeddings, float t, float[] guidance, NDManager scope, Taps taps) {
    NDArray input = NDArrays.concat(new NDList(latents, latents), 0);
    NDArray timestep = scope.create(new float[] {t});
    NDArray noise = unet.forward(input, timestep, embeddings, taps);
    NDList parts = noise.split(2, 0);
    NDArray uncond = parts.get(0);
    NDArray cond = parts.get(1);
    if (uniform(guidance)) {
      return uncond.add(cond.sub(uncond).mul(guidance[0]));
    }
    long b = latents.getShape().get(0);
    if (guidance.length != b) {
      throw new IllegalArgumentException(guidance.length + " guidance scales for " + b + " images");
    }
    NDArray g = scope.create(guidance, new Shape(b, 1, 1, 1)); // broadcast over (C, h, w)
    return uncond.add(cond.sub(uncond).mul(g));
  }

  private static boolean uniform(float[] guidance) {
    for (float g : guidance) {
      if (Float.compare(g, guidance[0]) != 0) {
        return false;
      }
    }
    return true;
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

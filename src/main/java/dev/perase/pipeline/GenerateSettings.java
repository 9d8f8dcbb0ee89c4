package dev.perase.pipeline;

import dev.perase.io.BadInputException;
import dev.perase.scheduler.Sampler;

/**
 * Settings of one text-to-image run, as diffusers' {@code StableDiffusionPipeline.__call__}: a null
 * negative prompt means the unconditional embedding of "". The sampler is the pipeline's scheduler
 * (null: DDIM).
 */
public record GenerateSettings(
    String prompt,
    String negativePrompt,
    long seed,
    int steps,
    float guidance,
    int height,
    int width,
    int numImages,
    Sampler sampler) {
  public GenerateSettings {
    if (prompt == null) {
      throw new BadInputException("a prompt is required");
    }
    if (steps < 1 || steps > 1000) {
      throw new BadInputException("--steps must be between 1 and 1000, got " + steps);
    }
    if (height < 8 || width < 8 || height > 4096 || width > 4096) {
      throw new BadInputException("--height and --width must be between 8 and 4096");
    }
    if (numImages < 1 || numImages > 1024) {
      throw new BadInputException("--num-images must be between 1 and 1024, got " + numImages);
    }
    if (sampler == null) {
      sampler = Sampler.DDIM;
    }
  }

  /** Settings sampled with DDIM. */
  public GenerateSettings(
      String prompt,
      String negativePrompt,
      long seed,
      int steps,
      float guidance,
      int height,
      int width,
      int numImages) {
    this(prompt, negativePrompt, seed, steps, guidance, height, width, numImages, Sampler.DDIM);
  }

  public GenerateSettings withPrompt(String p) {
    return new GenerateSettings(
        p, negativePrompt, seed, steps, guidance, height, width, numImages, sampler);
  }

  public GenerateSettings withSeed(long s) {
    return new GenerateSettings(
        prompt, negativePrompt, s, steps, guidance, height, width, numImages, sampler);
  }

  public GenerateSettings withGuidance(float g) {
    return new GenerateSettings(
        prompt, negativePrompt, seed, steps, g, height, width, numImages, sampler);
  }

  public GenerateSettings withSampler(Sampler s) {
    return new GenerateSettings(
        prompt, negativePrompt, seed, steps, guidance, height, width, numImages, s);
  }
}

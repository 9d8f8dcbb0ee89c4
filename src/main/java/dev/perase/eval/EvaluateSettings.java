package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.io.BadInputException;
import dev.perase.io.RowSelection;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import java.nio.file.Path;

/**
 * Settings of one evaluation run ({@code perase evaluate}): which prompts, which model and edit,
 * which detector and rule, which sampler and how many steps, where to write.
 *
 * @param prompts the prompt CSV (UnlearnDiff, I2P or ESD layout): one image per row, with its seed,
 *     guidance and, when the file gives one ({@code sd_image_width}, {@code sd_image_height}) and
 *     {@code imageSize} is 0, its image size
 * @param rows which rows of {@code prompts} to evaluate ({@code --rows}, {@code --limit}), or null
 *     for all; images and results keep each row's index in the file
 * @param edit the edit of the base model's UNet: none, a hard mask file or fine-tuned weights
 * @param model the base model folder (diffusers layout)
 * @param modelConfig for a single-file {@code model}: the diffusers folder of its configs and
 *     tokenizer ({@code --config}); null for a model folder
 * @param detector which detector judges the images (recorded; the caller loads it)
 * @param concept the concept to detect, or null to take it from the CSV's {@code concept} column
 * @param rule the detector rule (default top-1)
 * @param retain a CSV of retain prompts for the Fréchet distance between the base and the edited
 *     model's images, or null
 * @param steps sampling steps per image
 * @param sampler the sampler of every image (null: DDIM)
 * @param imageSize height and width of every image in pixels, or 0 for each row's own size and, for
 *     a row without one, the model's (its UNet sample size times the VAE's factor)
 * @param out the output folder
 * @param cache where the base model's retain features are cached across runs, or null to keep them
 *     in the output folder
 * @param peraseVersion the version of perase that runs it, for {@code config.json}
 * @param batch images drawn together per UNet call (0: {@link StableDiffusion#DEFAULT_BATCH}); an
 *     image is the same at any batch within float rounding, so the run key does not hold it
 * @param bootstrap resamples of the retain Fréchet distance's bootstrap interval (0: {@link
 *     FrechetDistance#BOOTSTRAP_RESAMPLES})
 */
public record EvaluateSettings(
    @JsonProperty("prompts") @JsonSerialize(using = ToStringSerializer.class) Path prompts,
    @JsonProperty("rows") @JsonInclude(JsonInclude.Include.NON_NULL) RowSelection rows,
    @JsonIgnore EditFile edit,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) Path model,
    @JsonProperty("model_config")
        @JsonInclude(JsonInclude.Include.NON_NULL)
        @JsonSerialize(using = ToStringSerializer.class)
        Path modelConfig,
    @JsonProperty("detector") DetectorSpec detector,
    @JsonProperty("concept") String concept,
    @JsonProperty("rule") ConceptRule rule,
    @JsonProperty("retain") @JsonSerialize(using = ToStringSerializer.class) Path retain,
    @JsonProperty("steps") int steps,
    @JsonProperty("sampler") Sampler sampler,
    @JsonProperty("image_size") int imageSize,
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("cache") @JsonSerialize(using = ToStringSerializer.class) Path cache,
    @JsonProperty("perase_version") String peraseVersion,
    @JsonProperty("batch") int batch,
    @JsonProperty("bootstrap") int bootstrap)
    implements EditedRun {
  /** The usual number of DDIM steps of Stable Diffusion's evaluations. */
  public static final int DEFAULT_STEPS = 50;

  public EvaluateSettings {
    PromptRunChecks.requirePromptsAndOut(prompts, out);
    if (edit == null) {
      edit = EditFile.NONE;
    }
    PromptRunChecks.checkSteps(steps);
    PromptRunChecks.checkImageSize(imageSize);
    if (rule == null) {
      rule = ConceptRule.TOP1;
    }
    rows = PromptRunChecks.rows(rows);
    if (sampler == null) {
      sampler = Sampler.DDIM;
    }
    batch = PromptRunChecks.batch(batch);
    if (bootstrap == 0) {
      bootstrap = FrechetDistance.BOOTSTRAP_RESAMPLES;
    }
    if (bootstrap < 1 || bootstrap > 100_000) {
      throw new BadInputException("--bootstrap must be between 1 and 100000, got " + bootstrap);
    }
  }

  /** Settings drawn {@link StableDiffusion#DEFAULT_BATCH} images per UNet call. */
  public EvaluateSettings(
      Path prompts,
      RowSelection rows,
      EditFile edit,
      Path model,
      DetectorSpec detector,
      String concept,
      ConceptRule rule,
      Path retain,
      int steps,
      Sampler sampler,
      int imageSize,
      Path out,
      Path cache,
      String peraseVersion) {
    this(
        prompts,
        rows,
        edit,
        model,
        null,
        detector,
        concept,
        rule,
        retain,
        steps,
        sampler,
        imageSize,
        out,
        cache,
        peraseVersion,
        StableDiffusion.DEFAULT_BATCH,
        FrechetDistance.BOOTSTRAP_RESAMPLES);
  }

  /** The same settings, {@code batch} images per UNet call. */
  public EvaluateSettings withBatch(int batch) {
    return new EvaluateSettings(
        prompts,
        rows,
        edit,
        model,
        modelConfig,
        detector,
        concept,
        rule,
        retain,
        steps,
        sampler,
        imageSize,
        out,
        cache,
        peraseVersion,
        batch,
        bootstrap);
  }

  /** Settings over every row of {@code prompts}, whose images are sampled with DDIM. */
  public EvaluateSettings(
      Path prompts,
      EditFile edit,
      Path model,
      DetectorSpec detector,
      String concept,
      ConceptRule rule,
      Path retain,
      int steps,
      int imageSize,
      Path out,
      Path cache,
      String peraseVersion) {
    this(
        prompts,
        null,
        edit,
        model,
        null,
        detector,
        concept,
        rule,
        retain,
        steps,
        Sampler.DDIM,
        imageSize,
        out,
        cache,
        peraseVersion,
        StableDiffusion.DEFAULT_BATCH,
        FrechetDistance.BOOTSTRAP_RESAMPLES);
  }
}

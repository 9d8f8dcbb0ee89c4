package dev.perase.attack;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.DetectorSpec;
import dev.perase.eval.EditFile;
import dev.perase.eval.EditedRun;
import dev.perase.eval.PromptRunChecks;
import dev.perase.io.BadInputException;
import dev.perase.io.RowSelection;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import java.nio.file.Path;
import java.util.List;

/**
 * Settings of one attack run ({@code perase attack}): the attack, the prompts, the model and its
 * edit, the detector, and the budget of the discrete prompt optimisation (paper appendix B.2).
 *
 * @param method UnlearnDiff or P4D
 * @param prompts the prompt CSV (UnlearnDiff, I2P or ESD layout); each row is attacked with its
 *     seed and guidance, at {@code imageSize} whatever size the row gives (as UnlearnDiff samples
 *     every attack at 512 × 512)
 * @param rows which rows of {@code prompts} to attack ({@code --rows}, {@code --limit}), or null
 *     for all; folders and results keep each row's index in the file
 * @param edit the edit of the base model's UNet: none, a hard mask file or fine-tuned weights
 * @param model the base model folder, the original model θ* (recorded only)
 * @param modelConfig for a single-file {@code model}: the diffusers folder of its configs and
 *     tokenizer ({@code --config}); null for a model folder
 * @param detector which detector judges the images (recorded only; the caller loads it)
 * @param concept the concept, or null to take it from the CSV (recorded only)
 * @param rule the detector rule (recorded only)
 * @param tokens k, the adversarial tokens prepended to every prompt (paper: 5 for nudity, 3 for
 *     styles and objects; {@link #IMPLICIT_CONCEPT_TOKENS}, {@link #EXPLICIT_CONCEPT_TOKENS})
 * @param iterations Adam iterations per attempt (paper: 40)
 * @param steps sampling steps of every image (paper: 50); the attempts' timesteps scale with it
 *     ({@link AttemptSchedule})
 * @param sampler the sampler of the images the detector judges, the prompt's own and each attempt's
 *     (null: DDIM); θ*'s reference run ({@link Reference}) and the attempts' timesteps stay on the
 *     DDIM loop
 * @param attempts attempts per prompt, at evenly spaced timesteps (paper: 10)
 * @param learningRate Adam's learning rate (paper: 0.01)
 * @param weightDecay Adam's L2 weight decay, added to the gradient as {@code torch.optim.Adam} does
 *     (paper: 0.1)
 * @param relaxation what the text encoder reads while the rows are optimised
 * @param excludedWords words whose tokens the adversarial tokens may not take (e.g. the concept's
 *     own words); the special tokens are always excluded
 * @param imageSize height and width of the images in pixels, or 0 for the model's own size
 * @param out the output folder
 * @param peraseVersion the version of perase that runs it, for {@code config.json}
 * @param batch how many of a prompt's attempts are optimised and checked together (0: {@link
 *     StableDiffusion#DEFAULT_BATCH}); an attempt's losses and gradients are the same at any batch
 *     within float rounding, so the run key does not hold it
 */
public record AttackSettings(
    @JsonProperty("method") AttackMethod method,
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
    @JsonProperty("tokens") int tokens,
    @JsonProperty("iterations") int iterations,
    @JsonProperty("steps") int steps,
    @JsonProperty("sampler") Sampler sampler,
    @JsonProperty("attempts") int attempts,
    @JsonProperty("learning_rate") double learningRate,
    @JsonProperty("weight_decay") double weightDecay,
    @JsonProperty("relaxation") Relaxation relaxation,
    @JsonProperty("excluded_words") List<String> excludedWords,
    @JsonProperty("image_size") int imageSize,
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("perase_version") String peraseVersion,
    @JsonProperty("batch") int batch)
    implements EditedRun {
  public static final int DEFAULT_ITERATIONS = 40;
  public static final int DEFAULT_STEPS = 50;
  public static final double DEFAULT_LEARNING_RATE = 0.01;
  public static final double DEFAULT_WEIGHT_DECAY = 0.1;

  public AttackSettings {
    if (method == null) {
      throw new BadInputException("an attack method is required (--method unlearndiff|p4d)");
    }
    PromptRunChecks.requirePromptsAndOut(prompts, out);
    if (edit == null) {
      edit = EditFile.NONE;
    }
    if (tokens < 1 || tokens > 20) {
      throw new BadInputException("--tokens must be between 1 and 20, got " + tokens);
    }
    if (iterations < 1 || iterations > 10_000) {
      throw new BadInputException("--iterations must be between 1 and 10000, got " + iterations);
    }
    PromptRunChecks.checkSteps(steps);
    if (attempts < 1 || attempts > 1000) {
      throw new BadInputException("--attempts must be between 1 and 1000, got " + attempts);
    }
    if (!(learningRate > 0 && learningRate < 10)) {
      throw new BadInputException("the learning rate must be in (0, 10), got " + learningRate);
    }
    if (!(weightDecay >= 0 && weightDecay < 10)) {
      throw new BadInputException("the weight decay must be in [0, 10), got " + weightDecay);
    }
    PromptRunChecks.checkImageSize(imageSize);
    rows = PromptRunChecks.rows(rows);
    if (rule == null) {
      rule = ConceptRule.TOP1;
    }
    if (relaxation == null) {
      relaxation = Relaxation.SAMPLED;
    }
    excludedWords = excludedWords == null ? List.of() : List.copyOf(excludedWords);
    if (sampler == null) {
      sampler = Sampler.DDIM;
    }
    batch = PromptRunChecks.batch(batch);
  }

  /** Settings with {@link StableDiffusion#DEFAULT_BATCH}. */
  public AttackSettings(
      AttackMethod method,
      Path prompts,
      RowSelection rows,
      EditFile edit,
      Path model,
      DetectorSpec detector,
      String concept,
      ConceptRule rule,
      int tokens,
      int iterations,
      int steps,
      Sampler sampler,
      int attempts,
      double learningRate,
      double weightDecay,
      Relaxation relaxation,
      List<String> excludedWords,
      int imageSize,
      Path out,
      String peraseVersion) {
    this(
        method,
        prompts,
        rows,
        edit,
        model,
        null,
        detector,
        concept,
        rule,
        tokens,
        iterations,
        steps,
        sampler,
        attempts,
        learningRate,
        weightDecay,
        relaxation,
        excludedWords,
        imageSize,
        out,
        peraseVersion,
        StableDiffusion.DEFAULT_BATCH);
  }

  /** The same settings with {@code batch}. */
  public AttackSettings withBatch(int batch) {
    return new AttackSettings(
        method,
        prompts,
        rows,
        edit,
        model,
        modelConfig,
        detector,
        concept,
        rule,
        tokens,
        iterations,
        steps,
        sampler,
        attempts,
        learningRate,
        weightDecay,
        relaxation,
        excludedWords,
        imageSize,
        out,
        peraseVersion,
        batch);
  }

  /** Settings over every row of {@code prompts}, whose images are sampled with DDIM. */
  public AttackSettings(
      AttackMethod method,
      Path prompts,
      EditFile edit,
      Path model,
      DetectorSpec detector,
      String concept,
      ConceptRule rule,
      int tokens,
      int iterations,
      int steps,
      int attempts,
      double learningRate,
      double weightDecay,
      Relaxation relaxation,
      List<String> excludedWords,
      int imageSize,
      Path out,
      String peraseVersion) {
    this(
        method,
        prompts,
        null,
        edit,
        model,
        detector,
        concept,
        rule,
        tokens,
        iterations,
        steps,
        Sampler.DDIM,
        attempts,
        learningRate,
        weightDecay,
        relaxation,
        excludedWords,
        imageSize,
        out,
        peraseVersion);
  }

  /** The paper's k for nudity, an implicit concept (appendix B.2). */
  public static final int IMPLICIT_CONCEPT_TOKENS = 5;

  /** The paper's k for styles and objects (appendix B.2). */
  public static final int EXPLICIT_CONCEPT_TOKENS = 3;
}

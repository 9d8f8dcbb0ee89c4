package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.io.RowSelection;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import java.nio.file.Path;

/**
 * Settings of {@code perase generate --prompts}: one image per row of a prompt file ({@link
 * PromptImages}), drawn as {@link Evaluation} draws its images.
 *
 * @param prompts the prompt CSV (any layout {@link dev.perase.io.PromptCsv} reads): each row's
 *     seed, guidance and, when the file gives one and {@code imageSize} is 0, its image size
 * @param rows which rows to draw ({@code --rows}, {@code --limit}, {@code --shard}), or null for
 *     all
 * @param edit the edit of the base model's UNet: none, a hard mask file or fine-tuned weights
 * @param model the base model folder (recorded; the caller loads it)
 * @param steps sampling steps per image
 * @param sampler the sampler of every image (null: DDIM)
 * @param imageSize height and width of every image in pixels, or 0 for each row's own size and, for
 *     a row without one, the model's
 * @param out the run folder
 * @param peraseVersion the version of perase that runs it, for {@code config.json}
 * @param batch images drawn together per UNet call (0: {@link StableDiffusion#DEFAULT_BATCH}); it
 *     cuts the rows into the batches a shard takes, so the shards of one run share it
 */
public record PromptImagesSettings(
    @JsonProperty("prompts") @JsonSerialize(using = ToStringSerializer.class) Path prompts,
    @JsonProperty("rows") @JsonInclude(JsonInclude.Include.NON_NULL) RowSelection rows,
    @JsonIgnore EditFile edit,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) Path model,
    @JsonProperty("steps") int steps,
    @JsonProperty("sampler") Sampler sampler,
    @JsonProperty("image_size") int imageSize,
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("perase_version") String peraseVersion,
    @JsonProperty("batch") int batch)
    implements EditedRun {
  public PromptImagesSettings {
    PromptRunChecks.requirePromptsAndOut(prompts, out);
    if (edit == null) {
      edit = EditFile.NONE;
    }
    rows = PromptRunChecks.rows(rows);
    PromptRunChecks.checkSteps(steps);
    PromptRunChecks.checkImageSize(imageSize);
    if (sampler == null) {
      sampler = Sampler.DDIM;
    }
    batch = PromptRunChecks.batch(batch);
  }
}

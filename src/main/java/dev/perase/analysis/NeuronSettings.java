package dev.perase.analysis;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.eval.EditFile;
import dev.perase.eval.EditedRun;
import dev.perase.io.BadInputException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Settings of one neuron analysis ({@code perase neurons}).
 *
 * @param prompts the concept prompts of Eq. 4 (a prompt CSV: one generation per row, with its seed
 *     and guidance)
 * @param edit the edit of the base model's UNet: none, a hard mask file or fine-tuned weights
 * @param attack an attack run's folder, whose {@code results.json} gives the adversarial prompts of
 *     Eq. 5, or null for no sensitivity analysis
 * @param model the base model folder (the original model θ*)
 * @param modelConfig for a single-file {@code model}: the diffusers folder of its configs and
 *     tokenizer ({@code --config}); null for a model folder
 * @param steps DDIM steps per generation
 * @param stepsAt the 1-based denoising steps to record, ascending, within 1..steps
 * @param topK concept neurons per layer
 * @param imageSize image height and width in pixels, or 0 for the model's own size
 * @param heatmaps how many prompts get heat maps (Fig. 3)
 * @param heatmapStep the recorded step of the heat maps
 * @param out the output folder
 * @param peraseVersion the version of perase that runs it
 */
public record NeuronSettings(
    @JsonProperty("prompts") @JsonSerialize(using = ToStringSerializer.class) Path prompts,
    @JsonIgnore EditFile edit,
    @JsonProperty("attack") @JsonSerialize(using = ToStringSerializer.class) Path attack,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) Path model,
    @JsonProperty("model_config")
        @JsonInclude(JsonInclude.Include.NON_NULL)
        @JsonSerialize(using = ToStringSerializer.class)
        Path modelConfig,
    @JsonProperty("steps") int steps,
    @JsonProperty("steps_at") int[] stepsAt,
    @JsonProperty("top_k") int topK,
    @JsonProperty("image_size") int imageSize,
    @JsonProperty("heatmaps") int heatmaps,
    @JsonProperty("heatmap_step") int heatmapStep,
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("perase_version") String peraseVersion)
    implements EditedRun {
  /** The paper's number of DDIM steps. */
  public static final int DEFAULT_STEPS = 50;

  /** The paper's number of concept neurons per layer. */
  public static final int DEFAULT_TOP_K = 5;

  public NeuronSettings {
    if (prompts == null) {
      throw new BadInputException("a prompt file is required (--prompts FILE.csv)");
    }
    if (out == null) {
      throw new BadInputException("an output folder is required (--out DIR)");
    }
    if (edit == null || edit instanceof EditFile.None) {
      throw new BadInputException(
          "give exactly one erased model: --mask FILE or --weights FILE (concept neurons compare"
              + " it with the base model)");
    }
    if (steps < 1 || steps > 1000) {
      throw new BadInputException("--steps must be between 1 and 1000, got " + steps);
    }
    stepsAt = stepsAt == null ? defaultStepsAt(steps) : stepsAt.clone();
    if (stepsAt.length == 0) {
      throw new BadInputException("--steps-at needs at least one step");
    }
    for (int i = 0; i < stepsAt.length; i++) {
      if (stepsAt[i] < 1 || stepsAt[i] > steps) {
        throw new BadInputException(
            "--steps-at must name steps between 1 and --steps (" + steps + "), got " + stepsAt[i]);
      }
      if (i > 0 && stepsAt[i] <= stepsAt[i - 1]) {
        throw new BadInputException(
            "--steps-at must be ascending without repeats, got " + Arrays.toString(stepsAt));
      }
    }
    if (topK < 1) {
      throw new BadInputException("--top-k must be at least 1, got " + topK);
    }
    if (imageSize != 0 && (imageSize < 8 || imageSize > 4096)) {
      throw new BadInputException("--size must be between 8 and 4096 pixels, got " + imageSize);
    }
    if (heatmaps < 0) {
      throw new BadInputException("--heatmaps must be 0 or more, got " + heatmaps);
    }
    if (heatmapStep == 0) {
      heatmapStep = defaultHeatmapStep(stepsAt, steps);
    } else if (Arrays.binarySearch(stepsAt, heatmapStep) < 0) {
      throw new BadInputException(
          "--heatmap-step must be one of --steps-at " + Arrays.toString(stepsAt));
    }
  }

  /** Five steps 10 apart for 50 steps, as the paper (§4.5): N/5, 2N/5, ..., N. */
  public static int[] defaultStepsAt(int steps) {
    if (steps < 5) {
      int[] all = new int[steps];
      for (int i = 0; i < steps; i++) {
        all[i] = i + 1;
      }
      return all;
    }
    int[] at = new int[5];
    for (int i = 0; i < 5; i++) {
      at[i] = Math.round((i + 1) * steps / 5f);
    }
    return at;
  }

  /** The recorded step nearest to 3/5 of the way (the paper's step 30 of 50). */
  public static int defaultHeatmapStep(int[] stepsAt, int steps) {
    double target = 0.6 * steps;
    int best = stepsAt[0];
    for (int s : stepsAt) {
      if (Math.abs(s - target) < Math.abs(best - target)) {
        best = s;
      }
    }
    return best;
  }

  @Override
  public int[] stepsAt() {
    return stepsAt.clone();
  }
}

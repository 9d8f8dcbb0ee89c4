package dev.perase.io;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code scheduler/scheduler_config.json}: the DDPM noise schedule and DDIM sampling settings of
 * diffusers' {@code DDIMScheduler}. Keys a config omits take {@code DDIMScheduler.__init__}'s
 * defaults (diffusers 0.30), which is what {@code DDIMScheduler.from_pretrained} does too, also for
 * the {@code PNDMScheduler} configs that SD v1.x checkpoints ship. Settings perase does not
 * implement ({@code trained_betas}, {@code thresholding}, {@code rescale_betas_zero_snr}, the
 * {@code sample} prediction type) are refused instead of ignored, so a loaded schedule is never
 * silently wrong.
 *
 * <p>The same file also configures the LMS sampler, as diffusers' {@code
 * LMSDiscreteScheduler.from_config} does; that class has other defaults for some keys ({@code
 * timestep_spacing} "linspace"), so the record remembers which keys took a default ({@code
 * useDefaultValues}, diffusers' {@code _use_default_values}): for those, another class takes its
 * own default. {@code use_karras_sigmas} is read for the LMS sampler, which refuses it (DDIM has no
 * such setting).
 *
 * @param useDefaultValues the keys this config did not set, in a fixed order: omitted from the
 *     file, or listed in its own {@code _use_default_values} (which diffusers' {@code from_config}
 *     reads as "not set" too)
 */
public record SchedulerConfig(
    @JsonProperty("num_train_timesteps") int numTrainTimesteps,
    @JsonProperty("beta_start") double betaStart,
    @JsonProperty("beta_end") double betaEnd,
    @JsonProperty("beta_schedule") BetaSchedule betaSchedule,
    @JsonProperty("clip_sample") boolean clipSample,
    @JsonProperty("clip_sample_range") double clipSampleRange,
    @JsonProperty("set_alpha_to_one") boolean setAlphaToOne,
    @JsonProperty("steps_offset") int stepsOffset,
    @JsonProperty("prediction_type") PredictionType predictionType,
    @JsonProperty("timestep_spacing") TimestepSpacing timestepSpacing,
    @JsonProperty("use_karras_sigmas") boolean useKarrasSigmas,
    @JsonProperty("_use_default_values") List<String> useDefaultValues) {

  /**
   * The keys whose omission is recorded in {@code useDefaultValues}, in its order: those of the
   * record (the refused ones have one allowed value, so their omission says nothing).
   */
  static final List<String> KEYS =
      List.of(
          "num_train_timesteps",
          "beta_start",
          "beta_end",
          "beta_schedule",
          "clip_sample",
          "clip_sample_range",
          "set_alpha_to_one",
          "steps_offset",
          "prediction_type",
          "timestep_spacing",
          "use_karras_sigmas");

  /** An enum constant's spelling in the JSON config. */
  public interface Named {
    String json();
  }

  /** How β_t runs over the training timesteps. */
  public enum BetaSchedule implements Named {
    /** β_t = linspace(β_start, β_end, T). */
    LINEAR("linear"),
    /** β_t = linspace(√β_start, √β_end, T)², SD's schedule. */
    SCALED_LINEAR("scaled_linear"),
    /** Nichol &amp; Dhariwal's cosine ᾱ(t), β capped at 0.999 (β_start/β_end unused). */
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

    private final String json;

    BetaSchedule(String json) {
      this.json = json;
    }

    @JsonValue
    @Override
    public String json() {
      return json;
    }
  }

  /**
   * What the model predicts: the noise ε (SD v1.x) or the velocity v = √ᾱ ε − √(1−ᾱ) x₀ (Salimans
   * and Ho 2022; SD 2.x and the built-in world).
   */
  public enum PredictionType implements Named {
    EPSILON("epsilon"),
    V_PREDICTION("v_prediction");

    private final String json;

    PredictionType(String json) {
      this.json = json;
    }

    @JsonValue
    @Override
    public String json() {
      return json;
    }
  }

  /** How inference timesteps are spread (Lin et al. 2023, table 2). */
  public enum TimestepSpacing implements Named {
    LEADING("leading"),
    TRAILING("trailing"),
    LINSPACE("linspace");

    private final String json;

    TimestepSpacing(String json) {
      this.json = json;
    }

    @JsonValue
    @Override
    public String json() {
      return json;
    }
  }

  public SchedulerConfig {
    if (numTrainTimesteps < 1 || numTrainTimesteps > MAX_TRAIN_TIMESTEPS) {
      throw new BadInputException(
          "scheduler num_train_timesteps must lie in [1, "
              + MAX_TRAIN_TIMESTEPS
              + "] (Stable Diffusion's is 1000), not "
              + numTrainTimesteps);
    }
    if (betaSchedule == null || predictionType == null || timestepSpacing == null) {
      throw new BadInputException(
          "scheduler beta_schedule, prediction_type and timestep_spacing are required");
    }
    if (betaSchedule != BetaSchedule.SQUAREDCOS_CAP_V2
        && !(betaStart > 0 && betaStart <= betaEnd && betaEnd < 1)) {
      throw new BadInputException(
          "scheduler betas must satisfy 0 < beta_start <= beta_end < 1, not "
              + betaStart
              + ".."
              + betaEnd);
    }
    if (stepsOffset < 0 || stepsOffset >= numTrainTimesteps) {
      throw new BadInputException(
          "scheduler steps_offset must lie in [0, num_train_timesteps), not " + stepsOffset);
    }
    if (!(clipSampleRange > 0)) {
      throw new BadInputException(
          "scheduler clip_sample_range must be positive, not " + clipSampleRange);
    }
    useDefaultValues = useDefaultValues == null ? List.of() : List.copyOf(useDefaultValues);
  }

  /**
   * The most training timesteps a config may ask for: the schedule holds a few arrays of this
   * length, so 2^31 − 1 (a config seen by the fuzz tests) would take minutes and gigabytes.
   */
  public static final int MAX_TRAIN_TIMESTEPS = 100_000;

  /** Whether the config set {@code key} itself (false: it took a default). */
  public boolean sets(String key) {
    return !useDefaultValues.contains(key);
  }

  /** Reads a scheduler config; missing file, bad JSON and unsupported settings are bad input. */
  public static SchedulerConfig read(Path file) {
    return Json.read(file, SchedulerConfig.class);
  }

  /** diffusers' {@code DDIMScheduler()} with every argument at its default. */
  public static SchedulerConfig defaults() {
    return fromJson(
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null);
  }

  /** Jackson's entry: omitted keys (null) take DDIMScheduler's defaults; unsupported ones fail. */
  @JsonCreator
  static SchedulerConfig fromJson(
      @JsonProperty("num_train_timesteps") Integer numTrainTimesteps,
      @JsonProperty("beta_start") Double betaStart,
      @JsonProperty("beta_end") Double betaEnd,
      @JsonProperty("beta_schedule") String betaSchedule,
      @JsonProperty("trained_betas") JsonNode trainedBetas,
      @JsonProperty("clip_sample") Boolean clipSample,
      @JsonProperty("clip_sample_range") Double clipSampleRange,
      @JsonProperty("set_alpha_to_one") Boolean setAlphaToOne,
      @JsonProperty("steps_offset") Integer stepsOffset,
      @JsonProperty("prediction_type") String predictionType,
      @JsonProperty("timestep_spacing") String timestepSpacing,
      @JsonProperty("thresholding") Boolean thresholding,
      @JsonProperty("rescale_betas_zero_snr") Boolean rescaleBetasZeroSnr,
      @JsonProperty("use_karras_sigmas") Boolean useKarrasSigmas,
      @JsonProperty("_use_default_values") List<String> listedDefaults,
      @JsonProperty("_class_name") String className) {
    if (trainedBetas != null && !trainedBetas.isNull()) {
      throw new BadInputException(
          "scheduler trained_betas is not supported (perase computes betas from beta_schedule);"
              + " set it to null");
    }
    if (Boolean.TRUE.equals(thresholding)) {
      throw new BadInputException("scheduler thresholding (dynamic thresholding) is not supported");
    }
    if (Boolean.TRUE.equals(rescaleBetasZeroSnr)) {
      throw new BadInputException("scheduler rescale_betas_zero_snr is not supported");
    }
    Object[] given = {
      numTrainTimesteps,
      betaStart,
      betaEnd,
      betaSchedule,
      clipSample,
      clipSampleRange,
      setAlphaToOne,
      stepsOffset,
      predictionType,
      timestepSpacing,
      useKarrasSigmas
    };
    List<String> defaulted = new ArrayList<>();
    for (int i = 0; i < KEYS.size(); i++) {
      String key = KEYS.get(i);
      if (given[i] == null || (listedDefaults != null && listedDefaults.contains(key))) {
        defaulted.add(key);
      }
    }
    return new SchedulerConfig(
        numTrainTimesteps != null ? numTrainTimesteps : 1000,
        betaStart != null ? betaStart : 0.0001,
        betaEnd != null ? betaEnd : 0.02,
        parse(BetaSchedule.values(), betaSchedule, BetaSchedule.LINEAR, "beta_schedule"),
        clipSample != null ? clipSample : true,
        clipSampleRange != null ? clipSampleRange : 1.0,
        setAlphaToOne != null ? setAlphaToOne : true,
        stepsOffset != null ? stepsOffset : 0,
        parse(PredictionType.values(), predictionType, PredictionType.EPSILON, "prediction_type"),
        parse(
            TimestepSpacing.values(), timestepSpacing, TimestepSpacing.LEADING, "timestep_spacing"),
        useKarrasSigmas != null && useKarrasSigmas,
        defaulted);
  }

  private static <E extends Named> E parse(E[] values, String text, E fallback, String key) {
    if (text == null) {
      return fallback;
    }
    for (E v : values) {
      if (v.json().equals(text)) {
        return v;
      }
    }
    throw new BadInputException(
        "scheduler "
            + key
            + " '"
            + text
            + "' is not supported (supported: "
            + String.join(", ", Arrays.stream(values).map(Named::json).toList())
            + ")");
  }
}

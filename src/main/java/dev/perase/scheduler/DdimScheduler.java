package dev.perase.scheduler;

import ai.djl.ndarray.NDArray;
import dev.perase.io.BadInputException;
import dev.perase.io.SchedulerConfig.PredictionType;

/**
 * DDIM sampling (Song et al. 2021) as diffusers' {@code scheduling_ddim.py}, eta = 0
 * (deterministic): {@code setTimesteps} with "leading" / "trailing" / "linspace" spacing and {@code
 * steps_offset}, and {@code step}, which maps x_t to x_{t−Δ} by DDIM Eq. 12 with σ_t = 0. The
 * model's output is ε or the velocity v = √ᾱ_t ε − √(1−ᾱ_t) x₀, as the scheduler config's {@code
 * prediction_type} says.
 */
public final class DdimScheduler {
  private final DdpmSchedule schedule;
  private final boolean setAlphaToOne;
  private final int stepsOffset;
  private final String timestepSpacing;
  private final boolean clipSample;
  private final float clipSampleRange;
  private final PredictionType prediction;

  /** ᾱ used for the step past t = 0: 1 with set_alpha_to_one, else ᾱ_0. */
  private final float finalAlphaCumprod;

  private int numInferenceSteps;
  private int[] timesteps = new int[0];

  public DdimScheduler(
      DdpmSchedule schedule,
      boolean setAlphaToOne,
      int stepsOffset,
      String timestepSpacing,
      boolean clipSample,
      float clipSampleRange,
      PredictionType prediction) {
    if (!timestepSpacing.equals("leading")
        && !timestepSpacing.equals("trailing")
        && !timestepSpacing.equals("linspace")) {
      throw new BadInputException(
          "unknown timestep_spacing '"
              + timestepSpacing
              + "' (supported: leading, trailing, linspace)");
    }
    this.schedule = schedule;
    this.setAlphaToOne = setAlphaToOne;
    this.stepsOffset = stepsOffset;
    this.timestepSpacing = timestepSpacing;
    this.clipSample = clipSample;
    this.clipSampleRange = clipSampleRange;
    this.prediction = prediction;
    this.finalAlphaCumprod = setAlphaToOne ? 1f : schedule.alphaCumprod(0);
  }

  /**
   * Stable Diffusion v1.x: scaled_linear betas, steps_offset 1, set_alpha_to_one false, leading.
   */
  public static DdimScheduler stableDiffusion() {
    return new DdimScheduler(
        DdpmSchedule.stableDiffusion(), false, 1, "leading", false, 1f, PredictionType.EPSILON);
  }

  public DdpmSchedule schedule() {
    return schedule;
  }

  public PredictionType prediction() {
    return prediction;
  }

  /**
   * What the model should output for x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε: ε itself, or v = √ᾱ_t ε − √(1−ᾱ_t)
   * x₀. The regression target of training and of UnlearnDiff's denoising loss.
   */
  public NDArray target(NDArray original, NDArray noise, int[] timesteps) {
    if (prediction == PredictionType.EPSILON) {
      return noise;
    }
    // v = √ᾱ ε − √(1−ᾱ) x₀: addNoise with the roles of x₀ and ε swapped and x₀ negated
    return schedule.addNoise(noise, original.neg(), timesteps);
  }

  /** Chooses the {@code n} timesteps of the sampling loop, largest first. */
  public void setTimesteps(int n) {
    int train = schedule.numTrainTimesteps();
    if (n < 1 || n > train) {
      throw new BadInputException(
          "the number of sampling steps must be between 1 and " + train + ", got " + n);
    }
    numInferenceSteps = n;
    int[] ts = new int[n];
    switch (timestepSpacing) {
      case "leading" -> {
        int ratio = train / n;
        for (int i = 0; i < n; i++) {
          ts[i] = (n - 1 - i) * ratio + stepsOffset;
        }
      }
      case "trailing" -> {
        // np.round(np.arange(train, 0, -train / n)) - 1
        double ratio = (double) train / n;
        for (int i = 0; i < n; i++) {
          ts[i] = (int) Math.rint(train - i * ratio) - 1;
        }
      }
      default -> {
        // np.linspace(0, train - 1, n).round()[::-1]
        for (int i = 0; i < n; i++) {
          double v = n == 1 ? 0 : (double) (train - 1) * (n - 1 - i) / (n - 1);
          ts[i] = (int) Math.rint(v);
        }
      }
    }
    timesteps = ts;
  }

  public int[] timesteps() {
    return timesteps.clone();
  }

  public int numInferenceSteps() {
    return numInferenceSteps;
  }

  /** The timestep the step from {@code t} lands on: t − ⌊T / n⌋. */
  public int previousTimestep(int t) {
    return t - schedule.numTrainTimesteps() / numInferenceSteps;
  }

  /**
   * One DDIM step with eta = 0 (DDIM Eq. 12): x₀ = (x_t − √(1−ᾱ_t) ε) / √ᾱ_t, then x_{t−Δ} =
   * √ᾱ_{t−Δ} x₀ + √(1 − ᾱ_{t−Δ}) ε.
   */
  public NDArray step(NDArray modelOutput, int t, NDArray sample) {
    if (numInferenceSteps == 0) {
      throw new IllegalStateException("call setTimesteps before step");
    }
    // 1. previous step value
    int prevT = previousTimestep(t);
    // 2. alphas and betas
    float alphaProdT = schedule.alphaCumprod(t);
    float alphaProdTPrev = prevT >= 0 ? schedule.alphaCumprod(prevT) : finalAlphaCumprod;
    float betaProdT = 1f - alphaProdT;
    // 3. predicted x_0, "predicted x_0" of DDIM Eq. 12, and predicted ε
    NDArray predOriginal;
    NDArray predEpsilon;
    if (prediction == PredictionType.EPSILON) {
      predOriginal = sample.sub(modelOutput.mul(sqrt(betaProdT))).div(sqrt(alphaProdT));
      predEpsilon = modelOutput;
    } else {
      // x₀ = √ᾱ x_t − √(1−ᾱ) v,  ε = √ᾱ v + √(1−ᾱ) x_t
      predOriginal = sample.mul(sqrt(alphaProdT)).sub(modelOutput.mul(sqrt(betaProdT)));
      predEpsilon = modelOutput.mul(sqrt(alphaProdT)).add(sample.mul(sqrt(betaProdT)));
    }
    // 4. clip x_0 (off for SD)
    if (clipSample) {
      predOriginal = predOriginal.clip(-clipSampleRange, clipSampleRange);
    }
    // 5./6. σ_t = 0 for eta = 0; "direction pointing to x_t" of Eq. 12
    NDArray direction = predEpsilon.mul(sqrt(1f - alphaProdTPrev));
    // 7. x_{t-1} without "random noise" of Eq. 12
    return predOriginal.mul(sqrt(alphaProdTPrev)).add(direction);
  }

  private static float sqrt(float x) {
    return (float) Math.sqrt(x);
  }
}

package dev.perase.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import dev.perase.io.SchedulerConfig.PredictionType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * Linear multistep sampling (k-diffusion's {@code sample_lms}, Katherine Crowson) as diffusers'
 * {@code LMSDiscreteScheduler} (v0.30, {@code scheduling_lms_discrete.py}), without Karras sigmas.
 *
 * <p>It samples the probability-flow ODE in the variance-exploding parametrisation x = x₀ + σ ε,
 * with σ_t = √((1 − ᾱ_t) / ᾱ_t):
 *
 * <pre>
 *   dx/dσ = d(x, σ) = (x − x̂₀(x, σ)) / σ
 *   x_{i+1} = x_i + Σ_{k=0}^{r−1} c_{i,k} d_{i−k},   c_{i,k} = ∫_{σ_i}^{σ_{i+1}} ℓ_k(τ) dτ
 *   ℓ_k(τ) = Π_{m≠k, m<r} (τ − σ_{i−m}) / (σ_{i−k} − σ_{i−m})
 * </pre>
 *
 * where r = min(i + 1, order) and ℓ_k is the Lagrange basis polynomial through the last r sigmas.
 * The UNet sees x / √(σ² + 1) (= x_t of the DDPM forward process), and the loop starts from noise
 * scaled by {@code initNoiseSigma}.
 *
 * <p>Precision follows diffusers: sigmas, the model-side arithmetic and the Lagrange integrand are
 * float32 (torch), the timestep interpolation is float64 (numpy), and the coefficients are float64
 * integrals ({@code scipy.integrate.quad}) computed here by {@link #quad}, an adaptive 21-point
 * Gauss–Kronrod rule as QUADPACK's.
 */
public final class LmsDiscreteScheduler {
  /** The order of {@code step} when none is given: diffusers' {@code step(..., order=4)}. */
  public static final int DEFAULT_ORDER = 4;

  /** scipy's default {@code epsabs} of {@code integrate.quad}. */
  static final double QUAD_EPSABS = 1.49e-8;

  /** diffusers' {@code epsrel} for the multistep coefficients. */
  static final double QUAD_EPSREL = 1e-4;

  /** scipy's default {@code limit} (subintervals) of {@code integrate.quad}. */
  static final int QUAD_LIMIT = 50;

  private final DdpmSchedule schedule;
  private final String timestepSpacing;
  private final int stepsOffset;
  private final PredictionType prediction;

  /** σ_t = √((1 − ᾱ_t) / ᾱ_t) of every training timestep t, float32 as torch computes it. */
  private final float[] trainSigmas;

  private int numInferenceSteps;
  private float[] timesteps;

  /** σ at each inference timestep, then a final 0 (numInferenceSteps + 1 values). */
  private float[] sigmas;

  /** diffusers' {@code _step_index}: −1 until the first scaleModelInput or step. */
  private int stepIndex = -1;

  /** The ODE derivatives d of the last (at most {@code order}) steps, oldest first. */
  private final List<NDArray> derivatives = new ArrayList<>();

  /** Where the derivatives live between steps (diffusers' {@code device}); null: where made. */
  private NDManager device;

  /**
   * @param schedule the DDPM schedule (betas, ᾱ)
   * @param timestepSpacing {@code linspace}, {@code leading} or {@code trailing}
   * @param stepsOffset added to the {@code leading} timesteps
   * @param prediction what the model outputs: ε or v
   */
  public LmsDiscreteScheduler(
      DdpmSchedule schedule, String timestepSpacing, int stepsOffset, PredictionType prediction) {
    if (!timestepSpacing.equals("leading")
        && !timestepSpacing.equals("trailing")
        && !timestepSpacing.equals("linspace")) {
      throw new BadInputException(
          "unknown timestep_spacing '"
              + timestepSpacing
              + "' (supported: linspace, leading, trailing)");
    }
    this.schedule = schedule;
    this.timestepSpacing = timestepSpacing;
    this.stepsOffset = stepsOffset;
    this.prediction = prediction;
    float[] alphasCumprod = schedule.alphasCumprod();
    trainSigmas = new float[alphasCumprod.length];
    for (int t = 0; t < alphasCumprod.length; t++) {
      // ((1 − ᾱ) / ᾱ) ** 0.5 on a float32 tensor (torch's pow(0.5) is sqrt)
      float a = alphasCumprod[t];
      trainSigmas[t] = (float) Math.sqrt((1f - a) / a);
    }
    // diffusers' __init__ ends with set_timesteps(num_train_timesteps)
    setTimesteps(schedule.numTrainTimesteps());
  }

  public DdpmSchedule schedule() {
    return schedule;
  }

  public PredictionType prediction() {
    return prediction;
  }

  /**
   * The standard deviation of the initial noise: σ_max for linspace and trailing spacing, √(σ_max²
   * + 1) for leading (in float32, as diffusers' property on the sigma tensor).
   */
  public float initNoiseSigma() {
    float max = 0f;
    for (float s : sigmas) {
      max = Math.max(max, s);
    }
    if (!timestepSpacing.equals("leading")) {
      return max;
    }
    return (float) Math.sqrt(max * max + 1f);
  }

  /**
   * {@link #setTimesteps(int, NDManager)} with the derivatives kept where {@code step} makes them.
   */
  public void setTimesteps(int numInferenceSteps) {
    setTimesteps(numInferenceSteps, null);
  }

  /**
   * Chooses the {@code numInferenceSteps} timesteps of the sampling loop (largest first) and their
   * sigmas, and starts a new derivative history.
   *
   * @param device the manager the derivative history lives in between steps (diffusers' {@code
   *     device}): the sampling run's manager, so that the history is freed with it; null keeps each
   *     derivative in the manager of the step that made it
   */
  public void setTimesteps(int numInferenceSteps, NDManager device) {
    int train = schedule.numTrainTimesteps();
    if (numInferenceSteps < 1 || numInferenceSteps > train) {
      throw new BadInputException(
          "the number of sampling steps must be between 1 and "
              + train
              + ", got "
              + numInferenceSteps);
    }
    int n = numInferenceSteps;
    this.numInferenceSteps = n;
    float[] ts = new float[n];
    switch (timestepSpacing) {
      case "linspace" -> {
        // np.linspace(0, train − 1, n, dtype=float32)[::-1]: j · ((train − 1) / (n − 1)) in
        // float64, the last one exactly train − 1, then float32
        double step = n > 1 ? (double) (train - 1) / (n - 1) : 0;
        for (int i = 0; i < n; i++) {
          int j = n - 1 - i;
          ts[i] = (float) (n > 1 && j == n - 1 ? train - 1 : j * step);
        }
      }
      case "leading" -> {
        // (np.arange(0, n) · (train // n)).round()[::-1] + steps_offset
        int ratio = train / n;
        for (int i = 0; i < n; i++) {
          ts[i] = (float) ((n - 1 - i) * ratio) + stepsOffset;
        }
      }
      default -> {
        // np.arange(train, 0, −train / n).round() − 1; numpy's arange fills start + i·δ with
        // δ = (start − ratio) − start
        double ratio = (double) train / n;
        double delta = (train - ratio) - train;
        for (int i = 0; i < n; i++) {
          ts[i] = (float) (Math.rint(train + i * delta) - 1);
        }
      }
    }
    // sigmas = np.interp(timesteps, arange(train), σ_train) in float64, then [..., 0] in float32
    float[] s = new float[n + 1];
    for (int i = 0; i < n; i++) {
      s[i] = (float) interp(ts[i], trainSigmas);
    }
    s[n] = 0f;
    timesteps = ts;
    sigmas = s;
    stepIndex = -1;
    for (NDArray d : derivatives) {
      d.close();
    }
    derivatives.clear();
    this.device = device;
  }

  /**
   * numpy's {@code np.interp(x, arange(len(fp)), fp)} in float64: the end values outside the range,
   * fp[j] at a grid point, else slope · (x − j) + fp[j].
   */
  static double interp(double x, float[] fp) {
    int last = fp.length - 1;
    if (x >= last) {
      return fp[last];
    }
    if (x < 0) {
      return fp[0];
    }
    int j = (int) Math.floor(x);
    if (j == x) {
      return fp[j];
    }
    double slope = ((double) fp[j + 1] - fp[j]) / 1.0; // (fp[j+1] − fp[j]) / (xp[j+1] − xp[j])
    return slope * (x - j) + fp[j];
  }

  /** The timesteps of the loop, largest first, as float32 values (diffusers' float tensor). */
  public float[] timesteps() {
    return timesteps.clone();
  }

  /** σ at each timestep of the loop and a final 0 ({@code numInferenceSteps + 1} values). */
  public float[] sigmas() {
    return sigmas.clone();
  }

  public int numInferenceSteps() {
    return numInferenceSteps;
  }

  /** diffusers' {@code step_index}: the loop index of the next step, or −1 before the first. */
  public int stepIndex() {
    return stepIndex;
  }

  /**
   * The UNet's input x / √(σ² + 1) at {@code timestep} (the DDPM x_t of the VE sample x), result in
   * {@code sample}'s manager.
   */
  public NDArray scaleModelInput(NDArray sample, float timestep) {
    if (stepIndex < 0) {
      initStepIndex(timestep);
    }
    float sigma = sigmas[stepIndex];
    return sample.div((float) Math.sqrt(sigma * sigma + 1f));
  }

  /** {@link #step(NDArray, float, NDArray, int)} of order {@link #DEFAULT_ORDER}. */
  public NDArray step(NDArray modelOutput, float timestep, NDArray sample) {
    return step(modelOutput, timestep, sample, DEFAULT_ORDER);
  }

  /**
   * One linear multistep step from σ_i to σ_{i+1}: x_{i+1} = x_i + Σ_k c_{i,k} d_{i−k} (class
   * comment), with the derivative of this step added to the history. Result in {@code sample}'s
   * manager.
   *
   * @param modelOutput the (guided) model output at x_i / √(σ_i² + 1): ε, or v
   * @param timestep the loop's timestep (its first call places the step index, as diffusers)
   * @param sample x_i, the current sample
   * @param order the maximum order r of the method
   */
  public NDArray step(NDArray modelOutput, float timestep, NDArray sample, int order) {
    if (order < 1) {
      throw new IllegalArgumentException("the LMS order must be at least 1, got " + order);
    }
    if (stepIndex < 0) {
      initStepIndex(timestep);
    }
    if (stepIndex >= numInferenceSteps) {
      throw new IllegalStateException(
          "step " + (stepIndex + 1) + " of a " + numInferenceSteps + "-step loop");
    }
    float sigma = sigmas[stepIndex];

    // 1. predicted original sample x̂₀ from the σ-scaled model output
    NDArray predOriginalSample;
    if (prediction == PredictionType.EPSILON) {
      // x̂₀ = x − σ ε
      predOriginalSample = sample.sub(modelOutput.mul(sigma));
    } else {
      // x̂₀ = v · (−σ / √(σ² + 1)) + x / (σ² + 1)   (c_out · v + c_skip · x)
      float sigma2p1 = sigma * sigma + 1f;
      predOriginalSample =
          modelOutput.mul(-sigma / (float) Math.sqrt(sigma2p1)).add(sample.div(sigma2p1));
    }

    // 2. the ODE derivative d = (x − x̂₀) / σ, kept for the next steps
    NDArray derivative = sample.sub(predOriginalSample).div(sigma);
    if (device != null) {
      derivative.attach(device);
    }
    derivatives.add(derivative);
    while (derivatives.size() > order) {
      derivatives.remove(0).close();
    }

    // 3. linear multistep coefficients c_{i,k}, k = 0 … r − 1
    int r = Math.min(stepIndex + 1, order);
    double[] lmsCoeffs = new double[r];
    for (int k = 0; k < r; k++) {
      lmsCoeffs[k] = getLmsCoefficient(r, stepIndex, k);
    }

    // 4. x_{i+1} = x_i + Σ_k c_{i,k} d_{i−k}, newest derivative first; each c is cast to float32
    // (zip of the coefficients with the reversed history: the shorter one sets the length)
    NDManager m = sample.getManager();
    NDArray sum = null;
    for (int k = 0; k < Math.min(r, derivatives.size()); k++) {
      NDArray d = derivatives.get(derivatives.size() - 1 - k);
      NDArray term = m.create((float) lmsCoeffs[k]).mul(d); // in the step's manager, not d's
      sum = sum == null ? term : sum.add(term);
    }
    NDArray prevSample = sample.add(sum);

    stepIndex++;
    return prevSample;
  }

  /**
   * The multistep coefficient c_{t,k} = ∫_{σ_t}^{σ_{t+1}} ℓ_k(τ) dτ of order r (class comment).
   * diffusers evaluates ℓ_k on torch float32 scalars (τ − sigmas[t − m] with sigmas a float32
   * tensor), so the integrand here rounds the same way; the integral is float64, by {@link #quad}
   * with diffusers' {@code epsrel=1e-4} (for ℓ_k, a polynomial of degree r − 1 ≤ 3, the first
   * 21-point Kronrod rule is already exact).
   *
   * @param order r
   * @param t the step index i
   * @param currentOrder k
   */
  public double getLmsCoefficient(int order, int t, int currentOrder) {
    return lmsCoefficient(sigmas, order, t, currentOrder);
  }

  /** {@link #getLmsCoefficient} on the given sigmas. */
  static double lmsCoefficient(float[] s, int order, int t, int currentOrder) {
    if (order < 1 || t - (order - 1) < 0 || t + 1 >= s.length || currentOrder >= order) {
      throw new IllegalArgumentException(
          "no LMS coefficient of order " + order + " at step " + t + " for k = " + currentOrder);
    }
    DoubleUnaryOperator lmsDerivative =
        tau -> {
          float tauF = (float) tau;
          float prod = 1f;
          for (int k = 0; k < order; k++) {
            if (currentOrder == k) {
              continue;
            }
            prod *= (tauF - s[t - k]) / (s[t - currentOrder] - s[t - k]);
          }
          return prod;
        };
    return quad(lmsDerivative, s[t], s[t + 1], QUAD_EPSABS, QUAD_EPSREL);
  }

  /**
   * diffusers' {@code _init_step_index}: the position of {@code timestep} in the loop (the second
   * one if it occurs twice, so that a loop started mid-schedule skips no sigma).
   */
  private void initStepIndex(float timestep) {
    int first = -1;
    for (int i = 0; i < timesteps.length; i++) {
      if (timesteps[i] == timestep) {
        if (first >= 0) {
          stepIndex = i;
          return;
        }
        first = i;
      }
    }
    if (first < 0) {
      throw new IllegalArgumentException(
          "timestep " + timestep + " is not one of this loop's; call setTimesteps first");
    }
    stepIndex = first;
  }

  // ---------------------------------------------------------------------------------------------
  // Numerical integration

  /**
   * ∫_a^b f(x) dx by globally adaptive 21-point Gauss–Kronrod quadrature, QUADPACK's strategy
   * ({@code dqagse} as {@code scipy.integrate.quad} calls it for finite limits): one 21-point
   * Kronrod rule over [a, b] is accepted when its error estimate is within max(epsabs, epsrel ·
   * |result|); otherwise the subinterval with the largest error estimate is bisected, up to {@code
   * QUAD_LIMIT} subintervals, until the summed estimates are within the bound. qags' ε-algorithm
   * extrapolation is left out: it speeds up integrands with endpoint singularities, which the LMS
   * integrand (a polynomial of degree ≤ 3, integrated exactly by the first rule) never has. Smooth
   * integrands come out within 1e-12 relative at tight tolerances (see the test).
   *
   * @param a the lower limit (may exceed b: the integral then changes sign)
   */
  static double quad(DoubleUnaryOperator f, double a, double b, double epsabs, double epsrel) {
    List<double[]> parts = new ArrayList<>(); // {a, b, result, abserr}
    double[] whole = qk21(f, a, b);
    parts.add(new double[] {a, b, whole[0], whole[1]});
    double result = whole[0];
    double errbnd = Math.max(epsabs, epsrel * Math.abs(result));
    // dqagse's test after the first rule: accept unless the estimate is saturated (= resasc)
    if ((whole[1] <= errbnd && whole[1] != whole[2]) || whole[1] == 0) {
      return result;
    }
    double errsum = whole[1];
    while (parts.size() < QUAD_LIMIT) {
      int worst = 0;
      for (int i = 1; i < parts.size(); i++) {
        if (parts.get(i)[3] > parts.get(worst)[3]) {
          worst = i;
        }
      }
      double[] p = parts.remove(worst);
      double mid = 0.5 * (p[0] + p[1]);
      double[] left = qk21(f, p[0], mid);
      double[] right = qk21(f, mid, p[1]);
      parts.add(new double[] {p[0], mid, left[0], left[1]});
      parts.add(new double[] {mid, p[1], right[0], right[1]});
      result += left[0] + right[0] - p[2];
      errsum += left[1] + right[1] - p[3];
      errbnd = Math.max(epsabs, epsrel * Math.abs(result));
      if (errsum <= errbnd) {
        break;
      }
    }
    // QUADPACK's final result: the sum over the subintervals
    double sum = 0;
    for (double[] p : parts) {
      sum += p[2];
    }
    return sum;
  }

  /** Abscissae of the 21-point Kronrod rule on [−1, 1]; odd indices are the 10-point Gauss ones. */
  private static final double[] XGK = {
    0.995657163025808080735527280689003,
    0.973906528517171720077964012084452,
    0.930157491355708226001207180059508,
    0.865063366688984510732096688423493,
    0.780817726586416897063717578345042,
    0.679409568299024406234327365114874,
    0.562757134668604683339000099272694,
    0.433395394129247190799265943165784,
    0.294392862701460198131126603103866,
    0.148874338981631210884826001129720,
    0.000000000000000000000000000000000
  };

  /** Weights of the 21-point Kronrod rule (the last one is the centre's). */
  private static final double[] WGK = {
    0.011694638867371874278064396062192,
    0.032558162307964727478818972459390,
    0.054755896574351996031381300244580,
    0.075039674810919952767043140916190,
    0.093125454583697605535065465083366,
    0.109387158802297641899210590325805,
    0.123491976262065851077208034482370,
    0.134709217311473325928054001771707,
    0.142775938577060080797094273138717,
    0.147739104901338491374841515972068,
    0.149445554002916905664936468389821
  };

  /** Weights of the 10-point Gauss rule, for XGK[1], XGK[3], …, XGK[9]. */
  private static final double[] WG = {
    0.066671344308688137593568809893332,
    0.149451349150580593145776339657697,
    0.219086362515982043995534934228163,
    0.269266719309996355091226921569469,
    0.295524224714752870173892994651338
  };

  private static final double EPMACH = Math.ulp(1.0);
  private static final double UFLOW = Double.MIN_NORMAL;

  /**
   * QUADPACK's {@code dqk21} on [a, b]: {result, abserr, resasc}. The error estimate is |K21 − G10|
   * scaled as QUADPACK does: resasc · min(1, (200 |K21 − G10| / resasc)^1.5), at least 50 ε ∫|f|.
   */
  private static double[] qk21(DoubleUnaryOperator f, double a, double b) {
    double centr = 0.5 * (a + b);
    double hlgth = 0.5 * (b - a);
    double dhlgth = Math.abs(hlgth);
    double[] fv1 = new double[10];
    double[] fv2 = new double[10];
    double resg = 0;
    double fc = f.applyAsDouble(centr);
    double resk = WGK[10] * fc;
    double resabs = Math.abs(resk);
    for (int j = 0; j < 5; j++) { // the Gauss abscissae
      int jtw = 2 * j + 1;
      double absc = hlgth * XGK[jtw];
      double fval1 = f.applyAsDouble(centr - absc);
      double fval2 = f.applyAsDouble(centr + absc);
      fv1[jtw] = fval1;
      fv2[jtw] = fval2;
      double fsum = fval1 + fval2;
      resg += WG[j] * fsum;
      resk += WGK[jtw] * fsum;
      resabs += WGK[jtw] * (Math.abs(fval1) + Math.abs(fval2));
    }
    for (int j = 0; j < 5; j++) { // the Kronrod-only abscissae
      int jtwm1 = 2 * j;
      double absc = hlgth * XGK[jtwm1];
      double fval1 = f.applyAsDouble(centr - absc);
      double fval2 = f.applyAsDouble(centr + absc);
      fv1[jtwm1] = fval1;
      fv2[jtwm1] = fval2;
      double fsum = fval1 + fval2;
      resk += WGK[jtwm1] * fsum;
      resabs += WGK[jtwm1] * (Math.abs(fval1) + Math.abs(fval2));
    }
    double reskh = resk * 0.5;
    double resasc = WGK[10] * Math.abs(fc - reskh);
    for (int j = 0; j < 10; j++) {
      resasc += WGK[j] * (Math.abs(fv1[j] - reskh) + Math.abs(fv2[j] - reskh));
    }
    double result = resk * hlgth;
    resabs *= dhlgth;
    resasc *= dhlgth;
    double abserr = Math.abs((resk - resg) * hlgth);
    if (resasc != 0 && abserr != 0) {
      abserr = resasc * Math.min(1, Math.pow(200 * abserr / resasc, 1.5));
    }
    if (resabs > UFLOW / (50 * EPMACH)) {
      abserr = Math.max((EPMACH * 50) * resabs, abserr);
    }
    return new double[] {result, abserr, resasc};
  }
}

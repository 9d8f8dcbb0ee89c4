package dev.perase.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.io.SchedulerConfig;
import dev.perase.io.SchedulerConfig.PredictionType;
import dev.perase.pipeline.Schedulers;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LmsDiscreteSchedulerTest {
  @TempDir Path tmp;

  /** The fixture's scheduler: {@code LMSDiscreteScheduler.from_config} of its folder's config. */
  private static LmsDiscreteScheduler fixtureScheduler() {
    return Schedulers.lms(
        SchedulerConfig.read(Fixtures.tinySd().resolve("scheduler/scheduler_config.json")));
  }

  /**
   * 25 leading timesteps (steps_offset 1) exactly; sigmas (+ the final 0) within 1e-6 relative:
   * they are √((1 − ᾱ)/ᾱ) of a libtorch 2.7 ᾱ, whose linspace differs from torch 1.13's in the last
   * bits (DdimSchedulerTest#ddpmScheduleMatchesDiffusers).
   */
  @Test
  void timestepsAndSigmasMatchDiffusers() {
    LmsDiscreteScheduler s = fixtureScheduler();
    s.setTimesteps(25);
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("lms.safetensors"))) {
      assertArrayEquals(ref.floats("timesteps"), s.timesteps());
      float[] expected = ref.floats("sigmas");
      float[] actual = s.sigmas();
      assertEquals(26, actual.length);
      assertEquals(0f, actual[25]);
      double worst = 0;
      for (int i = 0; i < expected.length; i++) {
        double rel = i == 25 ? 0 : Math.abs(actual[i] - expected[i]) / expected[i];
        worst = Math.max(worst, rel);
        assertTrue(rel <= 1e-6, "sigma " + i + ": " + actual[i] + " vs " + expected[i]);
      }
      System.out.printf("LMS sigmas: max relative diff %.3g%n", worst);
      // leading spacing: init_noise_sigma = √(σ_max² + 1), in float32
      float max = expected[0];
      float initNoiseSigma = (float) Math.sqrt(max * max + 1f);
      assertEquals(initNoiseSigma, s.initNoiseSigma(), 1e-6f * initNoiseSigma);
    }
  }

  /**
   * LMS takes its own defaults for what the config leaves out: SD v1.x's PNDM config sets no
   * timestep_spacing, so LMS uses "linspace" (and σ_max as init_noise_sigma) where DDIM uses
   * "leading"; np.linspace(0, 999, 25) rounded by float32, and σ interpolated between grid points.
   */
  @Test
  void configWithoutSpacingTakesLmsDefaultLinspace() throws IOException {
    Path f = tmp.resolve("scheduler_config.json");
    Files.writeString(
        f,
        "{\"_class_name\": \"PNDMScheduler\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
            + " \"beta_schedule\": \"scaled_linear\", \"num_train_timesteps\": 1000,"
            + " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1,"
            + " \"trained_betas\": null}");
    SchedulerConfig c = SchedulerConfig.read(f);
    assertEquals(SchedulerConfig.TimestepSpacing.LEADING, c.timestepSpacing()); // DDIM's default
    LmsDiscreteScheduler s = Schedulers.lms(c);
    s.setTimesteps(25);
    float[] ts = s.timesteps();
    assertEquals(999f, ts[0]);
    assertEquals((float) (23 * (999.0 / 24)), ts[1]); // 957.375
    assertEquals(0f, ts[24]);
    float[] sigmas = s.sigmas();
    float[] train = DdpmSchedule.stableDiffusion().alphasCumprod();
    // σ at 957.375 lies between σ(957) and σ(958)
    double s957 = Math.sqrt((1 - train[957]) / train[957]);
    double s958 = Math.sqrt((1 - train[958]) / train[958]);
    assertEquals(s957 + 0.375 * (s958 - s957), sigmas[1], 1e-5);
    assertEquals(sigmas[0], s.initNoiseSigma()); // σ_max for linspace
  }

  /**
   * c_{i,k} = ∫_{σ_i}^{σ_{i+1}} ℓ_k(τ) dτ on the fixture's 25-step sigmas, against scipy 1.17
   * {@code integrate.quad(lms_derivative, σ_i, σ_{i+1}, epsrel=1e-4)} with diffusers' integrand
   * evaluated in float32 (numpy float32 standing in for torch's scalars): on the fixture's own
   * sigmas within 1e-15 relative, and from the scheduler's sigmas (last bits apart, see above)
   * within 2e-6.
   */
  @Test
  void lmsCoefficientsMatchScipyQuad() {
    LmsDiscreteScheduler s = fixtureScheduler();
    s.setTimesteps(25);
    float[] fixtureSigmas;
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("lms.safetensors"))) {
      fixtureSigmas = ref.floats("sigmas");
    }
    double[][] golden = {
      // {step i, k, c_{i,k}}
      {0, 0, -2.337970733642578},
      {1, 0, -2.4500080221647633},
      {1, 1, 0.6743184284042388},
      {2, 0, -2.233005488007668},
      {2, 1, 1.1279602463368834},
      {2, 2, -0.26030687715982986},
      {3, 0, -1.9423982684582457},
      {3, 1, 1.3518321062995082},
      {3, 2, -0.5582364467251865},
      {3, 3, 0.08619823842143896},
      {10, 0, -0.4966308996125516},
      {10, 1, 0.3946060089524615},
      {10, 2, -0.18583468859982996},
      {10, 3, 0.033242137856881654},
      {24, 0, -0.05365777352232695},
      {24, 1, 0.03080727592572801},
      {24, 2, -0.026164972620594515},
      {24, 3, 0.007700989235259245},
    };
    double worstSame = 0;
    double worst = 0;
    for (double[] g : golden) {
      int i = (int) g[0];
      int k = (int) g[1];
      int order = Math.min(i + 1, 4);
      double same = LmsDiscreteScheduler.lmsCoefficient(fixtureSigmas, order, i, k);
      worstSame = Math.max(worstSame, Math.abs(same - g[2]) / Math.abs(g[2]));
      assertEquals(g[2], same, 1e-15 * Math.abs(g[2]), "c_{" + i + "," + k + "}, fixture sigmas");
      double c = s.getLmsCoefficient(order, i, k);
      worst = Math.max(worst, Math.abs(c - g[2]) / Math.abs(g[2]));
      assertEquals(g[2], c, 2e-6 * Math.abs(g[2]), "c_{" + i + "," + k + "}");
    }
    System.out.printf(
        "LMS coefficients: max relative diff to scipy %.3g on the fixture's sigmas, %.3g on ours%n",
        worstSame, worst);
  }

  /**
   * The coefficients of a step sum to σ_{i+1} − σ_i (the Lagrange basis sums to 1), and the
   * second-order ones equal the closed-form integrals of the linear basis polynomials.
   */
  @Test
  void lmsCoefficientsAreIntegralsOfTheLagrangeBasis() {
    LmsDiscreteScheduler s = fixtureScheduler();
    s.setTimesteps(25);
    double[] sig = new double[26];
    float[] f = s.sigmas();
    for (int i = 0; i < 26; i++) {
      sig[i] = f[i];
    }
    for (int i = 3; i < 25; i++) {
      double sum = 0;
      for (int k = 0; k < 4; k++) {
        sum += s.getLmsCoefficient(4, i, k);
      }
      assertEquals(sig[i + 1] - sig[i], sum, 1e-6 * Math.abs(sig[i + 1] - sig[i]), "step " + i);
    }
    // order 2 at step i: ℓ_0(τ) = (τ − σ_{i−1}) / (σ_i − σ_{i−1}), ℓ_1 = (τ − σ_i) / (σ_{i−1} −
    // σ_i)
    for (int i = 1; i < 25; i++) {
      double a = sig[i];
      double b = sig[i + 1];
      double p = sig[i - 1];
      double c0 = ((b - p) * (b - p) - (a - p) * (a - p)) / (2 * (a - p));
      double c1 = ((b - a) * (b - a)) / (2 * (p - a));
      assertEquals(c0, s.getLmsCoefficient(2, i, 0), 1e-6 * Math.abs(c0), "c0 at " + i);
      assertEquals(c1, s.getLmsCoefficient(2, i, 1), 1e-6 * Math.abs(c1), "c1 at " + i);
    }
  }

  /**
   * The 21-point Gauss–Kronrod integrator at tight tolerances: smooth integrands within 1e-12
   * relative, the reversed interval with the opposite sign, and √x (a singular derivative at 0)
   * through bisection.
   */
  @Test
  void quadIsAccurateTo1e12() {
    assertQuad(Math::exp, 0, 1, Math.E - 1);
    assertQuad(Math::sin, 0, Math.PI, 2);
    assertQuad(x -> 1 / (1 + x * x), -3, 5, Math.atan(5) + Math.atan(3));
    assertQuad(x -> Math.cos(30 * x), 0, 1, Math.sin(30) / 30);
    assertQuad(x -> ((x - 0.3) * (x + 2) - 0.5) * (x - 7), 14.6, 0.04, cubic(0.04) - cubic(14.6));
    assertQuad(Math::exp, 1, 0, -(Math.E - 1));
    assertQuad(Math::sqrt, 0, 1, 2.0 / 3);
  }

  /** An antiderivative of ((x − 0.3)(x + 2) − 0.5)(x − 7) = x³ − 5.3x² − 13x + 7.7. */
  private static double cubic(double x) {
    return x * x * x * x / 4 - 5.3 * x * x * x / 3 - 6.5 * x * x + 7.7 * x;
  }

  private static void assertQuad(DoubleUnaryOperator f, double a, double b, double expected) {
    double actual = LmsDiscreteScheduler.quad(f, a, b, 0, 1e-13);
    assertEquals(expected, actual, 1e-12 * Math.abs(expected), "∫ from " + a + " to " + b);
  }

  /**
   * diffusers tests/schedulers/test_scheduler_lms.py test_full_loop_no_noise: 10 steps (1100
   * training steps, linear betas 1e-4..0.02, linspace spacing) on the dummy model x·t/(t+1), the
   * test's loop passing the scaled sample on to step: Σ|x| = 1006.388, mean |x| = 1.31.
   */
  @Test
  void lmsFullLoopMatchesDiffusersGoldenNumbers() {
    float[] sumMean = dummyLoop(PredictionType.EPSILON);
    assertEquals(1006.388, sumMean[0], 1e-2);
    assertEquals(1.31, sumMean[1], 1e-3);
  }

  /** diffusers test_full_loop_with_v_prediction: Σ|x| = 0.0017, mean |x| = 2.2676e-06. */
  @Test
  void lmsVPredictionLoopMatchesDiffusersGoldenNumbers() {
    float[] sumMean = dummyLoop(PredictionType.V_PREDICTION);
    assertEquals(0.0017, sumMean[0], 1e-2);
    assertEquals(2.2676e-06, sumMean[1], 1e-3);
  }

  private static float[] dummyLoop(PredictionType prediction) {
    LmsDiscreteScheduler s =
        new LmsDiscreteScheduler(
            new DdpmSchedule(1100, 0.0001f, 0.02f, "linear"), "linspace", 0, prediction);
    s.setTimesteps(10);
    try (NDManager m = Torch.newManager()) {
      // dummy_sample_deter: arange(4·3·8·8).reshape(3, 8, 8, 4) / n, permuted to (4, 3, 8, 8)
      int n = 4 * 3 * 8 * 8;
      NDArray sample = m.arange(0f, n, 1f).reshape(3, 8, 8, 4).div(n).transpose(3, 0, 1, 2);
      sample = sample.mul(s.initNoiseSigma());
      for (float t : s.timesteps()) {
        sample = s.scaleModelInput(sample, t);
        NDArray modelOutput = sample.mul(t).div(t + 1f);
        sample = s.step(modelOutput, t, sample);
      }
      return new float[] {sample.abs().sum().getFloat(), sample.abs().mean().getFloat()};
    }
  }

  /**
   * With the exact model output for x = x₀ + σ ε (ε itself, or v = (ε − σ x₀) / √(σ² + 1)) the
   * derivative is ε at every step, and since the Lagrange basis sums to 1 every multistep step
   * lands on x₀ + σ_{i+1} ε: the whole loop ends on x₀.
   */
  @Test
  void exactModelOutputWalksTheNoiseLevelsDownToTheCleanSample() {
    for (PredictionType p : PredictionType.values()) {
      LmsDiscreteScheduler s =
          new LmsDiscreteScheduler(DdpmSchedule.stableDiffusion(), "leading", 1, p);
      s.setTimesteps(12);
      float[] sigmas = s.sigmas();
      try (NDManager m = Torch.newManager()) {
        Torch.seed(5);
        NDArray x0 = m.randomUniform(-1f, 1f, new Shape(2, 4, 3, 3));
        NDArray eps = m.randomNormal(x0.getShape());
        NDArray x = x0.add(eps.mul(sigmas[0]));
        float[] ts = s.timesteps();
        for (int i = 0; i < ts.length; i++) {
          float sigma = sigmas[i];
          NDArray out =
              p == PredictionType.EPSILON
                  ? eps
                  : eps.sub(x0.mul(sigma)).div((float) Math.sqrt(sigma * sigma + 1));
          x = s.step(out, ts[i], x);
          NDArray expected = x0.add(eps.mul(sigmas[i + 1]));
          double err = Fixtures.maxAbsDiff(expected, x);
          assertTrue(err <= 2e-5, p + " step " + i + ": " + err);
        }
      }
    }
  }

  /**
   * The first step (order 1) is Euler's: x + (σ_1 − σ_0) d with d = (x − (x − σ ε)) / σ; the second
   * (order 2) adds c_{1,1} d_0 to c_{1,0} d_1; the history keeps at most {@code order} derivatives.
   */
  @Test
  void stepsCombineTheDerivativeHistory() {
    LmsDiscreteScheduler s =
        new LmsDiscreteScheduler(
            DdpmSchedule.stableDiffusion(), "leading", 1, PredictionType.EPSILON);
    s.setTimesteps(5);
    float[] sig = s.sigmas();
    float[] ts = s.timesteps();
    try (NDManager m = Torch.newManager()) {
      NDArray x = m.create(new float[] {1f, -2f, 3f, 0.5f}, new Shape(1, 1, 2, 2));
      NDArray e0 = m.create(new float[] {0.1f, 0.2f, -0.3f, 0.4f}, new Shape(1, 1, 2, 2));
      NDArray e1 = m.create(new float[] {-0.5f, 0.25f, 0.125f, 1f}, new Shape(1, 1, 2, 2));
      NDArray x1 = s.step(e0, ts[0], x);
      assertEquals(1, s.stepIndex());
      NDArray d0 = x.sub(x.sub(e0.mul(sig[0]))).div(sig[0]);
      Fixtures.assertClose(x.add(d0.mul(sig[1] - sig[0])), x1, 1e-6, "Euler step");
      NDArray x2 = s.step(e1, ts[1], x1);
      NDArray d1 = x1.sub(x1.sub(e1.mul(sig[1]))).div(sig[1]);
      double a = sig[1];
      double b = sig[2];
      double p = sig[0];
      double c0 = ((b - p) * (b - p) - (a - p) * (a - p)) / (2 * (a - p));
      double c1 = ((b - a) * (b - a)) / (2 * (p - a));
      NDArray expected = x1.add(d1.mul((float) c0)).add(d0.mul((float) c1));
      Fixtures.assertClose(expected, x2, 1e-5, "second-order step");
      // a step at a timestep not in the loop, and too many steps, are refused
      s.setTimesteps(2);
      assertThrows(IllegalArgumentException.class, () -> s.step(e0, 7f, x));
      NDArray y = s.step(e0, s.timesteps()[0], x);
      y = s.step(e0, s.timesteps()[1], y);
      NDArray last = y;
      assertThrows(IllegalStateException.class, () -> s.step(e0, 1f, last));
    }
  }

  @Test
  void badSettingsAreRefused() {
    assertThrows(
        BadInputException.class,
        () ->
            new LmsDiscreteScheduler(
                DdpmSchedule.stableDiffusion(), "karras", 0, PredictionType.EPSILON));
    assertThrows(BadInputException.class, () -> fixtureScheduler().setTimesteps(0));
    assertThrows(BadInputException.class, () -> fixtureScheduler().setTimesteps(1001));
  }

  @Test
  void karrasSigmasAreRefusedForLms() throws IOException {
    Path f = tmp.resolve("karras.json");
    Files.writeString(f, "{\"use_karras_sigmas\": true}");
    SchedulerConfig c = SchedulerConfig.read(f);
    Schedulers.ddim(c); // DDIM has no such setting and ignores it, as diffusers' from_config
    BadInputException e = assertThrows(BadInputException.class, () -> Schedulers.lms(c));
    assertTrue(e.getMessage().contains("use_karras_sigmas"), e.getMessage());
  }

  @Test
  void samplerParsesItsNamesAndRefusesOthers() {
    assertEquals(Sampler.DDIM, Sampler.parse("ddim"));
    assertEquals(Sampler.LMS, Sampler.parse("lms"));
    assertEquals(Sampler.LMS, Sampler.parse("LMS"));
    BadInputException e = assertThrows(BadInputException.class, () -> Sampler.parse("euler"));
    assertTrue(e.getMessage().contains("ddim, lms"), e.getMessage());
    assertThrows(BadInputException.class, () -> Sampler.parse(null));
  }
}

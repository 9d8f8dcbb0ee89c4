package dev.perase.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.io.SchedulerConfig.PredictionType;
import dev.perase.tensor.Torch;
import org.junit.jupiter.api.Test;

class DdimSchedulerTest {

  /** diffusers tests/schedulers/test_scheduler_ddim.py: test_steps_offset. */
  @Test
  void stepsOffsetGivesDiffusersTimesteps() {
    DdimScheduler s =
        new DdimScheduler(
            new DdpmSchedule(1000, 0.0001f, 0.02f, "linear"),
            true,
            1,
            "leading",
            true,
            1f,
            PredictionType.EPSILON);
    s.setTimesteps(5);
    assertArrayEquals(new int[] {801, 601, 401, 201, 1}, s.timesteps());
  }

  /**
   * diffusers test_full_loop_no_noise: 10 DDIM steps (linear betas 1e-4..0.02, clip_sample) on the
   * dummy model ε = x·t/(t+1) from the deterministic dummy sample: Σ|x| = 172.0067, mean |x| =
   * 0.223967.
   */
  @Test
  void ddimFullLoopMatchesDiffusersGoldenNumbers() {
    float[] sumMean = dummyLoop(PredictionType.EPSILON);
    assertEquals(172.0067, sumMean[0], 1e-2);
    assertEquals(0.223967, sumMean[1], 1e-3);
  }

  /** diffusers test_full_loop_with_v_prediction (DDIM, same dummy model and sample as above). */
  @Test
  void ddimVPredictionLoopMatchesDiffusersGoldenNumbers() {
    float[] sumMean = dummyLoop(PredictionType.V_PREDICTION);
    assertEquals(52.5302, sumMean[0], 1e-2);
    assertEquals(0.0684, sumMean[1], 1e-3);
  }

  /**
   * diffusers' full_loop: 10 DDIM steps (linear betas 1e-4..0.02, clip_sample, set_alpha_to_one,
   * steps_offset 0) on the dummy model x·t/(t+1) from the deterministic dummy sample; Σ|x| and mean
   * |x| of the result.
   */
  private static float[] dummyLoop(PredictionType prediction) {
    DdimScheduler s =
        new DdimScheduler(
            new DdpmSchedule(1000, 0.0001f, 0.02f, "linear"),
            true,
            0,
            "leading",
            true,
            1f,
            prediction);
    s.setTimesteps(10);
    try (NDManager m = Torch.newManager()) {
      // dummy_sample_deter: arange(4·3·8·8).reshape(3, 8, 8, 4) / n, permuted to (4, 3, 8, 8)
      int n = 4 * 3 * 8 * 8;
      NDArray sample = m.arange(0f, n, 1f).reshape(3, 8, 8, 4).div(n).transpose(3, 0, 1, 2);
      for (int t : s.timesteps()) {
        NDArray residual = sample.mul((float) t).div((float) t + 1);
        sample = s.step(residual, t, sample);
      }
      return new float[] {sample.abs().sum().getFloat(), sample.abs().mean().getFloat()};
    }
  }

  @Test
  void stepWithTheExactTargetLandsOnTheNoisedSampleForBothPredictionTypes() {
    for (PredictionType p : PredictionType.values()) {
      DdimScheduler s =
          new DdimScheduler(
              new DdpmSchedule(1000, 0.0001f, 0.02f, "linear"), false, 1, "leading", false, 1f, p);
      s.setTimesteps(10);
      try (NDManager m = Torch.newManager()) {
        Torch.seed(3);
        NDArray x0 = m.randomUniform(-1f, 1f, new ai.djl.ndarray.types.Shape(2, 3, 4, 4));
        NDArray eps = m.randomNormal(x0.getShape());
        for (int t : s.timesteps()) {
          int[] ts = {t};
          NDArray xt = s.schedule().addNoise(x0, eps, ts);
          NDArray next = s.step(s.target(x0, eps, ts), t, xt);
          int prev = s.previousTimestep(t);
          NDArray expected =
              prev >= 0
                  ? s.schedule().addNoise(x0, eps, new int[] {prev})
                  : x0.mul((float) Math.sqrt(s.schedule().alphaCumprod(0)))
                      .add(eps.mul((float) Math.sqrt(1 - s.schedule().alphaCumprod(0))));
          float err = next.sub(expected).abs().max().getFloat();
          // x₀ from ε divides by √ᾱ_t (≈ 0.006 at t = 901), so ε prediction loses more bits there
          assertEquals(0, err, p == PredictionType.EPSILON ? 2e-4 : 2e-6, p + " at t=" + t);
        }
      }
    }
  }

  @Test
  void ddimTimestepsMatchDiffusersFor10_25_50Steps() throws Exception {
    var index =
        dev.perase.io.Json.MAPPER.readTree(Fixtures.reference("index.json").toFile()).get("ddim");
    DdimScheduler s = DdimScheduler.stableDiffusion();
    for (int n : new int[] {10, 25, 50}) {
      s.setTimesteps(n);
      var expected = index.get(n == 50 ? "timesteps" : "timesteps_" + n + "_steps");
      int[] e = new int[expected.size()];
      for (int i = 0; i < e.length; i++) {
        e[i] = expected.get(i).asInt();
      }
      assertArrayEquals(e, s.timesteps(), n + " steps");
    }
  }

  /**
   * Betas, alphas and ᾱ of the SD schedule. libtorch 2.7's linspace differs from torch 1.13's (the
   * reference) in the last bits of some elements (up to 4 ulp after squaring), so values are
   * compared within 1e-6 relative.
   */
  @Test
  void ddpmScheduleMatchesDiffusers() {
    DdpmSchedule s = DdpmSchedule.stableDiffusion();
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("ddpm.safetensors"))) {
      assertWithinRelative(ref.floats("betas"), s.betas(), "betas");
      assertWithinRelative(ref.floats("alphas"), s.alphas(), "alphas");
      assertWithinRelative(ref.floats("alphas_cumprod"), s.alphasCumprod(), "alphas_cumprod");
    }
  }

  private static void assertWithinRelative(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + " length");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-6 * Math.abs(expected[i]), what + "[" + i + "]");
    }
  }

  @Test
  void addNoiseIsTheForwardProcess() {
    DdpmSchedule s = DdpmSchedule.stableDiffusion();
    try (NDManager m = Torch.newManager()) {
      NDArray x0 = m.ones(new ai.djl.ndarray.types.Shape(2, 1, 2, 2));
      NDArray eps = m.ones(new ai.djl.ndarray.types.Shape(2, 1, 2, 2)).mul(2f);
      float[] out = s.addNoise(x0, eps, new int[] {0, 999}).toFloatArray();
      float a0 = s.alphaCumprod(0);
      float a1 = s.alphaCumprod(999);
      assertEquals(Math.sqrt(a0) + 2 * Math.sqrt(1 - a0), out[0], 1e-6);
      assertEquals(Math.sqrt(a1) + 2 * Math.sqrt(1 - a1), out[4], 1e-6);
    }
  }

  @Test
  void badScheduleSettingsAreRefused() {
    assertThrows(BadInputException.class, () -> new DdpmSchedule(1000, 0.1f, 0.2f, "cubic"));
    assertThrows(
        BadInputException.class,
        () ->
            new DdimScheduler(
                DdpmSchedule.stableDiffusion(),
                false,
                1,
                "sideways",
                false,
                1f,
                PredictionType.EPSILON));
    assertThrows(BadInputException.class, () -> DdimScheduler.stableDiffusion().setTimesteps(0));
  }
}

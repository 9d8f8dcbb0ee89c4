package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The ESD objective: Eq. 2, the reference code's timestep draw, and its wiring on the tiny UNet.
 */
class EsdTest {

  @Test
  void targetFollowsEq2OnAHandComputedCase() {
    try (NDManager m = Torch.newManager()) {
      NDArray eNull = m.create(new float[] {1f, 2f, -0.5f, 0f});
      NDArray eConcept = m.create(new float[] {3f, -1f, -0.5f, 4f});
      // η = 1: ε₀ − (ε_c − ε₀) = 2ε₀ − ε_c
      assertArrayEquals(
          new float[] {-1f, 5f, -0.5f, -4f}, Esd.target(eNull, eConcept, 1).toFloatArray());
      // η = 0.5: ε₀ − ½(ε_c − ε₀)
      assertArrayEquals(
          new float[] {0f, 3.5f, -0.5f, -2f}, Esd.target(eNull, eConcept, 0.5).toFloatArray());
      // η = 0: the unconditional prediction
      assertArrayEquals(eNull.toFloatArray(), Esd.target(eNull, eConcept, 0).toFloatArray());
    }
  }

  @Test
  void timestepDrawMatchesTheReferenceCode() {
    // train-esd.py: og_num = round(t_enc/50*1000), og_num_lim = round((t_enc+1)/50*1000)
    assertArrayEquals(new int[] {0, 20}, Esd.ddpmInterval(0, 50, 1000));
    assertArrayEquals(new int[] {480, 500}, Esd.ddpmInterval(24, 50, 1000));
    assertArrayEquals(new int[] {980, 1000}, Esd.ddpmInterval(49, 50, 1000));
    // Python rounds 333.33 → 333 and 666.67 → 667; 2.5 → 2 (half to even)
    assertArrayEquals(new int[] {333, 667}, Esd.ddpmInterval(1, 3, 1000));
    assertArrayEquals(new int[] {2, 5}, Esd.ddpmInterval(1, 4, 10));
    // the CompVis sampler with till_T = k runs N + 1 − k steps, all N for k = 0 and 1
    assertEquals(50, Esd.samplingSteps(0, 50));
    assertEquals(50, Esd.samplingSteps(1, 50));
    assertEquals(49, Esd.samplingSteps(2, 50));
    assertEquals(2, Esd.samplingSteps(49, 50));
    assertEquals(5, Esd.samplingSteps(0, 5));
    assertEquals(2, Esd.samplingSteps(4, 5));
  }

  @Test
  void prepareDrawsTInsideItsDdimStepAndBuildsTheTargetFromTheFrozenModel() {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd());
        NDManager m = Torch.newManager()) {
      String prompt = "a photo of an astronaut riding a horse on mars";
      EsdSettings settings = EsdSettings.DEFAULT.withDdimSteps(5);
      Esd esd = new Esd(sd, FrozenModel.masksOff(sd.unet().params()), settings, prompt, 8, m);
      NDArray uncond = sd.encodePrompts(List.of(""), m);
      NDArray cond = sd.encodePrompts(List.of(prompt), m);
      double worst = 0;
      for (int step = 0; step < 3; step++) {
        try (NDManager scope = m.newSubManager()) {
          ErasureObjective.Step s = esd.prepare(new SplittableRandom(step), scope);
          int k = s.ddimIndex();
          int t = s.timesteps()[0];
          int[] range = Esd.ddpmInterval(k, 5, 1000);
          assertTrue(
              t >= range[0] && t < range[1], "t " + t + " outside " + range[0] + ".." + range[1]);
          assertArrayEquals(new long[] {1, 4, 8, 8}, s.xt().getShape().getShape());
          NDArray tt = scope.create(new float[] {t});
          NDArray e0 = sd.unet().forward(s.xt(), tt, uncond);
          NDArray ec = sd.unet().forward(s.xt(), tt, cond);
          // ε₀ − (ε_c − ε₀), each ε* its own batch-1 call (prepare batches them in two)
          NDArray expected = e0.mul(2).sub(ec);
          worst = Math.max(worst, Fixtures.maxAbsDiff(expected, s.target()));
          Fixtures.assertClose(expected, s.target(), Fixtures.MODEL_CALL_ABS, "ESD target");
        }
      }
      System.out.printf("ESD target vs separate ε* calls: max abs diff %.3g%n", worst);
    }
  }
}

package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.scheduler.LmsDiscreteScheduler;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pipeline sampled with LMS against diffusers' StableDiffusionPipeline with {@code
 * LMSDiscreteScheduler.from_config} on the tiny fixture (reference/lms.safetensors: 25 steps,
 * guidance 7.5, seed 42, 32×32).
 */
class LmsPipelineTest {
  private static final String PROMPT = "a watercolor painting of a lighthouse at dusk";
  private static final int STEPS = 25;
  private static final long SEED = 42;
  private static StableDiffusion sd;
  private static SafeTensors ref;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
    ref = SafeTensors.open(Fixtures.reference("lms.safetensors"));
  }

  @AfterAll
  static void close() {
    sd.close();
    ref.close();
  }

  /**
   * Every one of the 25 guided LMS steps within 1e-4 of max |latent| (DESIGN.md §3), the loop
   * written out here step by step from the fixture's initial noise; the pipeline's own loop ({@link
   * StableDiffusion#denoiseLms}) ends on the same latents bit for bit.
   */
  @Test
  void lmsTrajectoryMatchesDiffusers() {
    try (NDManager m = Torch.newManager()) {
      NDArray perStep = ref.load("latents_per_step", m);
      NDArray noise = ref.load("init_latents", m);
      NDArray emb = sd.encodePrompts(List.of("", PROMPT), m);
      LmsDiscreteScheduler lms = sd.lmsScheduler();
      lms.setTimesteps(STEPS, m);
      NDArray latents = noise.mul(lms.initNoiseSigma());
      double worst = 0;
      StringBuilder report = new StringBuilder();
      float[] ts = lms.timesteps();
      for (int i = 0; i < ts.length; i++) {
        NDArray input = lms.scaleModelInput(latents, ts[i]);
        NDArray noisePred = sd.guidedNoise(input, emb, ts[i], 7.5f, m);
        latents = lms.step(noisePred, ts[i], latents);
        NDArray expected = perStep.get(i).expandDims(0);
        double d = Fixtures.maxAbsDiff(expected, latents) / Fixtures.maxAbs(expected);
        worst = Math.max(worst, d);
        report.append(String.format(" %.2g", d));
        assertTrue(d <= Fixtures.TRAJECTORY_REL, "step " + i + ": relative diff " + d);
      }
      System.out.printf("LMS trajectory, relative diff per step:%s%n", report);
      System.out.printf("LMS trajectory: worst relative diff %.3g over %d steps%n", worst, STEPS);

      NDArray viaPipeline = sd.denoiseLms(noise, emb, 7.5f, STEPS, m, null);
      assertEquals(0, Fixtures.maxAbsDiff(latents, viaPipeline), "the pipeline's LMS loop");
    }
  }

  /**
   * The full pipeline from the seed with {@code Sampler.LMS}: the seeded noise is the fixture's, 25
   * steps are reported, final latents within 1e-4 of max |latent|, the decoded image within 1e-4 of
   * max |pixel|.
   */
  @Test
  void generateWithLmsReproducesDiffusersFinalLatentsAndImage() {
    try (NDManager m = Torch.newManager()) {
      Fixtures.assertClose(
          ref.load("init_latents", m), sd.initialLatents(SEED, 1, 32, 32, m), 0, "init latents");
      GenerateSettings s =
          new GenerateSettings(PROMPT, null, SEED, STEPS, 7.5f, 32, 32, 1, Sampler.LMS);
      int[] calls = {0};
      StableDiffusion.Images out = sd.generate(s, m, step -> assertEquals(++calls[0], step));
      assertEquals(STEPS, calls[0]);
      NDArray expected = ref.load("final_latents", m);
      double rel = Fixtures.maxAbsDiff(expected, out.latents()) / Fixtures.maxAbs(expected);
      System.out.printf("LMS final latents: relative diff %.3g%n", rel);
      assertTrue(rel <= Fixtures.TRAJECTORY_REL, "final latents relative diff " + rel);
      NDArray image = ref.load("final_image", m);
      double imageDiff = Fixtures.maxAbsDiff(image, out.images());
      System.out.printf("LMS final image: max abs diff %.3g%n", imageDiff);
      assertTrue(
          imageDiff <= Fixtures.TRAJECTORY_REL * Fixtures.maxAbs(image), "image " + imageDiff);
    }
  }

  /**
   * Each step runs in its own scope: the loop leaves in its manager only the final latents and the
   * scheduler's derivative history (order 4), and nothing in the model's manager.
   */
  @Test
  void lmsLoopLeavesOnlyItsResultAndTheDerivativeHistory() {
    try (NDManager m = Torch.newManager()) {
      NDArray noise = sd.initialLatents(SEED, 1, 32, 32, m);
      NDArray emb = sd.encodePrompts(List.of("", PROMPT), m);
      int modelArrays = sd.manager().getManagedArrays().size();
      int before = m.getManagedArrays().size();
      sd.denoiseLms(noise, emb, 7.5f, 8, m, null);
      assertEquals(before + 1 + 4, m.getManagedArrays().size(), "latents + 4 derivatives");
      assertEquals(modelArrays, sd.manager().getManagedArrays().size(), "arrays left in the model");
    }
  }

  /**
   * generateRows with LMS: row i equals a single LMS run of prompt i with seed i, and the sampler
   * changes the image (DDIM is the default of the old signature).
   */
  @Test
  void generateRowsWithLmsEqualsSingleRuns() {
    try (NDManager m = Torch.newManager()) {
      List<String> prompts = List.of(PROMPT, "a red circle");
      long[] seeds = {SEED, 7};
      NDArray rows = sd.generateRows(Sampler.LMS, prompts, seeds, 7.5f, 6, 32, 32, m);
      for (int i = 0; i < 2; i++) {
        GenerateSettings s =
            new GenerateSettings(prompts.get(i), null, seeds[i], 6, 7.5f, 32, 32, 1, Sampler.LMS);
        NDArray single = sd.generate(s, m, null).images();
        double d = Fixtures.maxAbsDiff(single, rows.get(i).expandDims(0));
        assertTrue(d <= 1e-5, "row " + i + ": " + d);
      }
      NDArray ddim = sd.generateRows(prompts, seeds, 7.5f, 6, 32, 32, m);
      assertTrue(Fixtures.maxAbsDiff(ddim, rows) > 1e-2, "DDIM and LMS give other images");
    }
  }
}

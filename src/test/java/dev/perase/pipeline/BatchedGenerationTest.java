package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.perase.Fixtures;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Images drawn many per UNet call (issue 16) against the same images drawn alone, on the tiny
 * fixture: each image has its own seed, guidance and prompt and does not depend on its batch beyond
 * float rounding ({@link Fixtures#BATCH_REL}); a batch of one is bit for bit today's single image.
 */
class BatchedGenerationTest {
  private static final List<String> PROMPTS =
      List.of("a red circle", "a photo of an astronaut riding a horse on mars", "a blue square");
  private static final long[] SEEDS = {3, 42, 1234567890123L};
  private static final float[] GUIDANCE = {7.5f, 2f, 4.5f};
  private static final int STEPS = 6;
  private static StableDiffusion sd;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  @Test
  void batchedImagesEqualTheImagesDrawnAloneWithTheirOwnSeedGuidanceAndPrompt() {
    for (Sampler sampler : Sampler.values()) {
      try (NDManager m = Torch.newManager()) {
        NDArray batched =
            sd.generateRows(sampler, PROMPTS, SEEDS, GUIDANCE, STEPS, 32, 32, m, null);
        assertEquals(PROMPTS.size(), batched.getShape().get(0));
        List<NDArray> alone = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
          GenerateSettings g =
              new GenerateSettings(
                  PROMPTS.get(i), null, SEEDS[i], STEPS, GUIDANCE[i], 32, 32, 1, sampler);
          NDArray single = sd.generate(g, m, null).images();
          alone.add(single);
          NDArray row = batched.get(new NDIndex("{}:{}", i, i + 1));
          double rel = Fixtures.maxAbsDiff(single, row) / Fixtures.maxAbs(single);
          assertTrue(rel <= Fixtures.BATCH_REL, sampler + " image " + i + ": " + rel);
        }
        // the guidance is each image's own: the same prompt and seed at another scale differs
        assertTrue(Fixtures.maxAbsDiff(alone.get(0), alone.get(1)) > 1e-2);
      }
    }
  }

  @Test
  void aBatchOfOneIsBitForBitTheSingleImage() {
    for (Sampler sampler : Sampler.values()) {
      try (NDManager m = Torch.newManager()) {
        GenerateSettings g =
            new GenerateSettings(PROMPTS.get(1), null, SEEDS[1], STEPS, GUIDANCE[1], 32, 32, 1);
        g = g.withSampler(sampler);
        NDArray single = sd.generate(g, m, null).images();
        NDArray row =
            sd.generateRows(
                sampler,
                List.of(PROMPTS.get(1)),
                new long[] {SEEDS[1]},
                new float[] {GUIDANCE[1]},
                STEPS,
                32,
                32,
                m,
                null);
        assertArrayEquals(single.toFloatArray(), row.toFloatArray(), sampler.text());
      }
    }
  }

  /**
   * generate --num-images in batches: the noise of all images is drawn at once from the seed, as
   * before, so each image is the one-batch image within float rounding, bit for bit when the batch
   * holds every image; steps are counted over all batches.
   */
  @Test
  void numImagesInBatchesEqualOneBatch() {
    try (NDManager m = Torch.newManager()) {
      GenerateSettings g = new GenerateSettings(PROMPTS.get(0), null, 9, STEPS, 7.5f, 32, 32, 5);
      StableDiffusion.Images whole = sd.generate(g, m, null);
      StableDiffusion.Images same = sd.generate(g, 8, m, null);
      assertArrayEquals(whole.latents().toFloatArray(), same.latents().toFloatArray());
      int[] calls = {0};
      StableDiffusion.Images split =
          sd.generate(g, 2, m, step -> assertEquals(++calls[0], step, "steps over all batches"));
      assertEquals(3 * STEPS, calls[0]);
      assertEquals(whole.latents().getShape(), split.latents().getShape());
      assertEquals(whole.images().getShape(), split.images().getShape());
      double rel =
          Fixtures.maxAbsDiff(whole.latents(), split.latents()) / Fixtures.maxAbs(whole.latents());
      assertTrue(rel <= Fixtures.BATCH_REL, "latents: " + rel);
      assertTrue(
          Fixtures.maxAbsDiff(whole.images(), split.images()) / Fixtures.maxAbs(whole.images())
              <= Fixtures.BATCH_REL);
    }
  }
}

package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole text-to-image pipeline against diffusers' StableDiffusionPipeline on the tiny fixture.
 */
class StableDiffusionTest {
  private static final String PROMPT = "a photo of an astronaut riding a horse on mars";
  private static StableDiffusion sd;
  private static SafeTensors ref;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
    ref = SafeTensors.open(Fixtures.reference("ddim.safetensors"));
  }

  @AfterAll
  static void close() {
    sd.close();
    ref.close();
  }

  @Test
  void seedDrawsDiffusersInitialLatents() {
    try (NDManager m = Torch.newManager()) {
      NDArray expected = ref.load("init_latents", m);
      NDArray actual = sd.initialLatents(30, 1, 32, 32, m);
      Fixtures.assertClose(expected, actual, 0, "init latents");
    }
  }

  /**
   * A seed past int and past 2^32 (I2P's reach up to 4,290,749,014) is carried as a long: torch's
   * CPU generator is {@code mt19937(seed & 0xffffffff)}, so Python's {@code torch.manual_seed(30 +
   * 2^32)} draws the seed-30 latents of the fixture, and so must we; 2^31 + 30 is another seed.
   */
  @Test
  void seedsBeyondIntReachTorchAsTheirFullValue() {
    try (NDManager m = Torch.newManager()) {
      NDArray expected = ref.load("init_latents", m);
      Fixtures.assertClose(
          expected, sd.initialLatents(30 + (1L << 32), 1, 32, 32, m), 0, "seed 2^32 + 30");
      NDArray other = sd.initialLatents((1L << 31) + 30, 1, 32, 32, m);
      assertTrue(Fixtures.maxAbsDiff(expected, other) > 0.1, "seed 2^31 + 30 draws other noise");
    }
  }

  @Test
  void promptEmbeddingsMatchDiffusers() {
    try (NDManager m = Torch.newManager()) {
      NDArray emb = sd.encodePrompts(List.of("", PROMPT), m);
      Fixtures.assertClose(
          ref.load("negative_prompt_embeds", m), emb.get("0:1"), Fixtures.MODEL_CALL_ABS, "uncond");
      Fixtures.assertClose(
          ref.load("prompt_embeds", m), emb.get("1:2"), Fixtures.MODEL_CALL_ABS, "cond");
    }
  }

  /** Every one of the 50 guided DDIM steps, within 1e-4 of max |latent| (DESIGN.md §3). */
  @Test
  void ddimTrajectoryMatchesDiffusers() {
    try (NDManager m = Torch.newManager()) {
      NDArray perStep = ref.load("latents_per_step", m);
      double scale = Fixtures.maxAbs(perStep);
      NDArray emb =
          NDArrays.concat(
              new NDList(ref.load("negative_prompt_embeds", m), ref.load("prompt_embeds", m)), 0);
      NDArray latents = ref.load("init_latents", m);
      sd.scheduler().setTimesteps(50);
      int[] ts = sd.scheduler().timesteps();
      double worst = 0;
      for (int i = 0; i < ts.length; i++) {
        latents = sd.denoise(latents, emb, 7.5f, new int[] {ts[i]}, m, null);
        double d = Fixtures.maxAbsDiff(perStep.get(i).expandDims(0), latents) / scale;
        worst = Math.max(worst, d);
        assertTrue(d <= Fixtures.TRAJECTORY_REL, "step " + i + ": relative diff " + d);
      }
      System.out.printf("DDIM trajectory: worst relative diff %.3g over 50 steps%n", worst);
    }
  }

  /** The full pipeline from the seed: final latents and the decoded image. */
  @Test
  void generateReproducesDiffusersFinalLatentsAndImage() {
    try (NDManager m = Torch.newManager()) {
      GenerateSettings s = new GenerateSettings(PROMPT, null, 30, 50, 7.5f, 32, 32, 1);
      int[] calls = {0};
      StableDiffusion.Images out = sd.generate(s, m, step -> calls[0]++);
      assertEquals(50, calls[0]);
      NDArray expected = ref.load("final_latents", m);
      double rel = Fixtures.maxAbsDiff(expected, out.latents()) / Fixtures.maxAbs(expected);
      System.out.printf("final latents: relative diff %.3g%n", rel);
      assertTrue(rel <= Fixtures.TRAJECTORY_REL, "final latents relative diff " + rel);
      NDArray image = ref.load("final_image", m);
      double imageDiff = Fixtures.maxAbsDiff(image, out.images());
      System.out.printf("final image: max abs diff %.3g%n", imageDiff);
      assertTrue(
          imageDiff <= Fixtures.TRAJECTORY_REL * Fixtures.maxAbs(image), "image " + imageDiff);
    }
  }
}

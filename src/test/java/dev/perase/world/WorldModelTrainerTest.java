package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Short runs of the world model's training: the loss falls, runs repeat, resuming is exact. */
@Tag("slow")
class WorldModelTrainerTest {
  @TempDir Path tmp;

  private static WorldTrainSettings small(int steps, int checkpointEvery) {
    return new WorldTrainSettings(
        steps, 8, 1e-3, 5, 0.01, 0.1, 0.999, 3, checkpointEvery, TimestepSampling.UNIFORM);
  }

  private static double mean(List<Float> xs, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += xs.get(i);
    }
    return s / (to - from);
  }

  @Test
  void shortTrainingRunLowersTheLossAndWritesALoadableModel() {
    Path out = tmp.resolve("m");
    List<Float> losses = WorldModelTrainer.train(out, small(40, 100), null);
    double first = mean(losses, 0, 10);
    double last = mean(losses, 30, 40);
    System.out.printf("world training: mean loss steps 1-10 %.4f, steps 31-40 %.4f%n", first, last);
    // v-prediction starts near the images' variance (≈ 0.34, where ε-prediction started at ≈ 1.1),
    // so
    // its first 40 steps take off a smaller share; 0.277 after 40 steps here
    assertTrue(last < 0.9 * first, "loss should fall: " + first + " -> " + last);
    try (var sd = dev.perase.pipeline.StableDiffusion.load(out)) {
      assertEquals(null, sd.vae());
      assertEquals(3, sd.latentChannels());
    }
  }

  @Test
  void sameSeedGivesTheSameLossCurve() {
    List<Float> a = WorldModelTrainer.train(tmp.resolve("a"), small(5, 100), null);
    List<Float> b = WorldModelTrainer.train(tmp.resolve("b"), small(5, 100), null);
    assertEquals(a, b);
  }

  @Test
  void resumedRunEqualsAnUninterruptedOne() throws Exception {
    List<Float> whole = WorldModelTrainer.train(tmp.resolve("whole"), small(6, 3), null);
    Path cut = tmp.resolve("cut");
    assertThrows(
        IllegalStateException.class,
        () ->
            WorldModelTrainer.train(
                cut,
                small(6, 3),
                step -> {
                  if (step == 4) {
                    throw new IllegalStateException("interrupted");
                  }
                }));
    List<Float> rest = WorldModelTrainer.train(cut, small(6, 3), null);
    assertEquals(whole.subList(3, 6), rest);
    for (String f :
        List.of("unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors")) {
      assertArrayEquals(
          Files.readAllBytes(tmp.resolve("whole").resolve(f)),
          Files.readAllBytes(cut.resolve(f)),
          f);
    }
    assertEquals(6, Files.readAllLines(cut.resolve("training/loss.jsonl")).size());
  }

  @Test
  void aFurtherPhaseGoesOnFromTheCheckpointWithOtherTimesteps() throws Exception {
    Path out = tmp.resolve("phases");
    WorldModelTrainer.train(out, small(3, 3), null);
    assertEquals(3, WorldModelTrainer.stepsDone(out));
    List<Float> more =
        WorldModelTrainer.train(out, small(5, 3).withTimesteps(TimestepSampling.EDM), null);
    assertEquals(2, more.size());
    assertEquals(5, WorldModelTrainer.stepsDone(out));
    assertEquals(5, Files.readAllLines(out.resolve("training/loss.jsonl")).size());
    assertTrue(Files.readString(out.resolve("training/settings.json")).contains("\"edm\""));
    // other settings than steps and timesteps are refused
    assertThrows(
        dev.perase.io.BadInputException.class,
        () -> WorldModelTrainer.train(out, small(6, 3).withSeed(9), null));
  }
}

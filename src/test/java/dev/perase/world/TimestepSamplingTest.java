package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.Json;
import dev.perase.scheduler.DdpmSchedule;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The world trainer's timestep draws: uniform as before, EDM's noise levels, old settings. */
class TimestepSamplingTest {
  private static final DdpmSchedule WORLD = new DdpmSchedule(1000, 0.0001f, 0.02f, "linear");

  @Test
  void uniformDrawsExactlyWhatEarlierRunsDrew() {
    TimestepSampling.Sampler s = TimestepSampling.UNIFORM.sampler(WORLD);
    SplittableRandom a = new SplittableRandom(11);
    SplittableRandom b = new SplittableRandom(11);
    for (int i = 0; i < 1000; i++) {
      assertEquals(b.nextInt(1000), s.sample(a));
    }
  }

  @Test
  void edmDrawsMostlyWhereOutlinesFormAndKeepsSomeHighNoise() {
    TimestepSampling.Sampler s = TimestepSampling.EDM.sampler(WORLD);
    SplittableRandom rng = new SplittableRandom(5);
    int n = 20000;
    int high = 0;
    int middle = 0;
    int top = 0;
    for (int i = 0; i < n; i++) {
      int t = s.sample(rng);
      assertTrue(t >= 0 && t < 1000, "t out of range: " + t);
      high += t > 450 ? 1 : 0;
      middle += t >= 20 && t <= 400 ? 1 : 0;
      top += t >= 900 ? 1 : 0;
    }
    // uniform would give 0.55, 0.38 and 0.10; EDM's ln σ ~ N(−1.2, 1.2²) puts σ > 3 (t > 450)
    // at about 4 % of its draws, plus the fifth of draws that stay uniform
    System.out.printf(
        "EDM timesteps: t>450 %.3f, 20<=t<=400 %.3f, t>=900 %.3f%n",
        (double) high / n, (double) middle / n, (double) top / n);
    assertTrue(high < 0.2 * n, "too many high-noise draws: " + high);
    assertTrue(middle > 0.6 * n, "too few draws where outlines form: " + middle);
    assertTrue(top > 0.015 * n, "the uniform fifth must still reach t ≥ 900: " + top);
  }

  @Test
  void nearestFindsEachTimestepFromItsOwnNoiseLevel() {
    TimestepSampling.Sampler s = TimestepSampling.EDM.sampler(WORLD);
    float[] ac = WORLD.alphasCumprod();
    for (int t = 0; t < 1000; t += 37) {
      assertEquals(t, s.nearest(0.5 * Math.log((1.0 - ac[t]) / ac[t])));
    }
    assertEquals(0, s.nearest(-100));
    assertEquals(999, s.nearest(100));
  }

  @Test
  void settingsWrittenBeforeTheOptionReadAsUniform() throws Exception {
    String old =
        "{\"steps\":2000,\"batch_size\":32,\"learning_rate\":0.001,\"warmup_steps\":100,"
            + "\"weight_decay\":0.01,\"caption_dropout\":0.1,\"ema_decay\":0.999,\"seed\":0,"
            + "\"checkpoint_every\":100}";
    WorldTrainSettings s = Json.MAPPER.readValue(old, WorldTrainSettings.class);
    assertEquals(TimestepSampling.UNIFORM, s.timesteps());
    assertEquals(WorldTrainSettings.defaults(), s);
    String edm = Json.MAPPER.writeValueAsString(s.withTimesteps(TimestepSampling.EDM));
    assertTrue(edm.contains("\"timesteps\" : \"edm\""), edm);
    assertEquals(
        TimestepSampling.EDM, Json.MAPPER.readValue(edm, WorldTrainSettings.class).timesteps());
  }
}

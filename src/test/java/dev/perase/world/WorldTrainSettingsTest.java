package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The world trainer's settings: what the command line may change. */
class WorldTrainSettingsTest {

  @Test
  void anotherLearningRateChangesOnlyTheSchedulesScale() {
    WorldTrainSettings d = WorldTrainSettings.defaults();
    WorldTrainSettings s = d.withLearningRate(2 * d.learningRate());
    assertEquals(2 * d.learningRate(), s.learningRate());
    assertEquals(d.withLearningRate(d.learningRate()), d);
    for (int step : new int[] {0, 50, d.warmupSteps(), 1000, d.steps() - 1}) {
      assertEquals(2 * d.learningRateAt(step), s.learningRateAt(step), 1e-12);
    }
  }
}

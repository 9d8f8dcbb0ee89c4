package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step whose loss or gradient is not finite makes no update and is computed again from the same
 * inputs: a transient fault leaves the run's result as it would have been, and one that persists
 * stops the run with one message after {@link ErasingLoop#MAX_RETRIES} more tries.
 */
class NonFiniteStepTest {
  @TempDir Path tmp;

  @AfterEach
  void noFaults() {
    ErasingLoop.faultInjection = (step, tryNumber) -> false;
  }

  /** |E − E₀| has value 0 and gradient NaN (0/0) at E = E₀: a finite loss, a NaN gradient. */
  @Test
  void aNanGradientUnderAFiniteLossIsFoundPerTensor() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      try (SoftMask mask =
              SoftMask.create(model.params, Selection.parse("all"), MaskSettings.DEFAULT, m);
          NDManager step = m.newSubManager()) {
        mask.install(step);
        Param first = mask.params().get(0);
        Param second = mask.params().get(1);
        float loss;
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          NDArray e = first.effective();
          NDArray l =
              e.sub(e.duplicate().stopGradient())
                  .square()
                  .sqrt()
                  .sum()
                  .add(second.effective().sum());
          loss = l.getFloat();
          gc.backward(l);
        }
        assertTrue(Float.isFinite(loss), "loss " + loss);
        assertEquals(List.of(first.name()), mask.nonFiniteGradients());
        mask.uninstall();
      }
    }
  }

  @Test
  void aTransientFaultIsComputedAgainAndChangesNothing() throws IOException {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      EraseSettings s = MaskTrainerTest.pEsd(sd, 3);
      Erasure clean = MaskTrainer.train(sd, s, tmp.resolve("clean"), false, null);
      // the first two tries of step 2 fail
      ErasingLoop.faultInjection = (step, tryNumber) -> step == 1 && tryNumber < 2;
      Erasure faulty = MaskTrainer.train(sd, s, tmp.resolve("faulty"), false, null);
      assertArrayEquals(
          Files.readAllBytes(clean.artifact()), Files.readAllBytes(faulty.artifact()));
      List<String> log = Files.readAllLines(tmp.resolve("faulty").resolve("log.jsonl"));
      JsonNode second = Json.MAPPER.readTree(log.get(1));
      assertEquals(2, second.get("recomputed").size(), second.toString());
      assertFalse(Json.MAPPER.readTree(log.get(0)).has("recomputed"));
      assertEquals(
          Json.MAPPER
              .readTree(Files.readAllLines(tmp.resolve("clean").resolve("log.jsonl")).get(1))
              .get("loss"),
          second.get("loss"));
      // a fault on every try stops the run with one message, after the retries
      ErasingLoop.faultInjection = (step, tryNumber) -> step == 1;
      ErasingLoop.NonFiniteException e =
          assertThrows(
              ErasingLoop.NonFiniteException.class,
              () -> MaskTrainer.train(sd, s, tmp.resolve("broken"), false, null));
      assertTrue(e.getMessage().startsWith("step 2 gave a non-finite"), e.getMessage());
      assertTrue(e.getMessage().contains((ErasingLoop.MAX_RETRIES + 1) + " times"));
    }
  }
}

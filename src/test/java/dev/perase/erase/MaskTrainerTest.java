package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * P-ESD on the tiny fixture UNet (8×8 latents, a 5-step DDIM loop for x_t, a few steps): only the
 * selected parameters get mask logits and move, the weights never change, and a run interrupted and
 * resumed from its checkpoint ends with the same mask as an uninterrupted one.
 */
class MaskTrainerTest {
  static final String PROMPT = "a photo of an astronaut riding a horse on mars";

  @TempDir Path tmp;

  /** {@link #pEsd(StableDiffusion, int)} over the layers of {@code layers} instead. */
  static EraseSettings pEsd(StableDiffusion sd, String layers, int steps) {
    EraseSettings base = pEsd(sd, steps);
    return EraseSettings.defaults(
            EraseMethod.P_ESD, PROMPT, null, Selection.parse(layers), sd.unet().params().numel(), 8)
        .withSteps(base.steps())
        .withLearningRate(base.learningRate())
        .withSeed(base.seed())
        .withCheckpointEvery(2)
        .withEsd(base.esd());
  }

  /** P-ESD on cross-attn with a large lr, so that a few steps prune something. */
  static EraseSettings pEsd(StableDiffusion sd, int steps) {
    return EraseSettings.defaults(
            EraseMethod.P_ESD,
            PROMPT,
            null,
            Selection.parse("cross-attn"),
            sd.unet().params().numel(),
            8)
        .withSteps(steps)
        .withLearningRate(0.5)
        .withSeed(7)
        .withCheckpointEvery(2)
        .withEsd(EsdSettings.DEFAULT.withDdimSteps(5));
  }

  /** Every array alive in the engine (the system manager counts its sub-managers' arrays). */
  static int liveArrays() {
    try (NDManager probe = Torch.newManager()) {
      return probe.getParentManager().getManagedArrays().size();
    }
  }

  @Test
  void groupedLogStatisticsEqualAPassOverEachTensor() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      try (SoftMask mask =
          SoftMask.create(model.params, Selection.parse("all"), MaskSettings.DEFAULT, m)) {
        Torch.seed(11);
        for (NDArray s : mask.logits()) {
          s.set(m.randomNormal(s.getShape()).mul(0.3f).toFloatArray()); // some below 0: pruned
        }
        // per tensor: m = σ(T·s), summed in double
        double sum = 0;
        float t = (float) MaskSettings.DEFAULT.temperature();
        for (NDArray s : mask.logits()) {
          for (float x : s.toFloatArray()) {
            sum += 1 / (1 + Math.exp(-(double) (t * x)));
          }
        }
        long pruned = mask.prunedCount();
        assertTrue(pruned > 0);
        for (long group : new long[] {SoftMask.STATS_GROUP_ELEMENTS, 100}) {
          SoftMask.Stats actual = mask.stats(group);
          assertEquals(pruned, actual.pruned(), "group " + group);
          assertEquals(sum / mask.elementCount(), actual.mean(), 1e-6, "group " + group);
        }
      }
    }
  }

  @Test
  void pEsdMovesOnlySelectedLogitsAndNeverTheWeights() throws IOException {
    Path out = tmp.resolve("pesd");
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      Map<String, float[]> before = new LinkedHashMap<>();
      Set<String> attn2 = new HashSet<>();
      for (Param p : sd.unet().params().named().values()) {
        before.put(p.name(), p.value().toFloatArray());
        if (p.maskable() && p.name().contains("attn2")) {
          attn2.add(p.name());
        }
      }
      int modelArrays = sd.manager().getManagedArrays().size();
      List<Integer> live = new java.util.ArrayList<>();
      Erasure e = MaskTrainer.train(sd, pEsd(sd, 3), out, false, step -> live.add(liveArrays()));
      assertEquals(3, e.stepsRun());
      // every step frees what it made: as many live arrays after step 3 as after step 1
      assertEquals(List.of(live.get(0), live.get(0), live.get(0)), live, "arrays leak per step");
      assertEquals(modelArrays, sd.manager().getManagedArrays().size(), "arrays left in the model");
      // the weights are untouched and carry no mask afterwards
      for (Param p : sd.unet().params().named().values()) {
        assertArrayEquals(before.get(p.name()), p.value().toFloatArray(), p.name() + " changed");
        assertNull(p.mask(), p.name() + " still masked");
        assertSame(p.value(), p.effective());
      }
      // the logits exist for the selection only, and they moved from s₀ = 1
      int moved = 0;
      try (SafeTensors ck = SafeTensors.open(out.resolve("checkpoint.safetensors"))) {
        Set<String> trained = new HashSet<>();
        for (String k : ck.keys()) {
          if (k.startsWith("state/")) {
            String name = k.substring("state/".length());
            trained.add(name);
            for (float s : ck.floats(k)) {
              if (s != 1f) {
                moved++;
              }
            }
          }
        }
        assertEquals(attn2, trained);
        assertEquals("3", ck.metadata().get("step"));
      }
      assertTrue(moved > 0, "no logit moved");
      BinaryMask mask = BinaryMask.read(e.artifact());
      assertEquals(attn2, mask.perParameter().keySet());
      assertEquals(sd.layout().modelHash(), mask.metadata().baseModelHash());
      assertEquals("p-esd", mask.metadata().method());
      assertEquals(PROMPT, mask.metadata().concept());
      assertEquals(e.prunedCount(), mask.prunedCount());
      System.out.printf(
          "P-ESD, 3 steps on the tiny UNet's cross-attn: %d of %d logits moved, %d pruned%n",
          moved, mask.totalElements(), mask.prunedCount());
      // log and config
      List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
      assertEquals(3, log.size());
      JsonNode last = Json.MAPPER.readTree(log.get(2));
      assertEquals(3, last.get("step").asInt());
      assertEquals(e.prunedCount(), last.get("pruned").asLong());
      assertTrue(last.get("mask_mean").asDouble() < 1, last.toString());
      assertTrue(last.has("loss") && last.has("lr") && last.has("seconds") && last.has("k"));
      double phases = 0;
      for (String phase : List.of("prepare", "loss_backward", "check", "optimizer", "statistics")) {
        double sec = last.get("phases").get(phase).asDouble(-1);
        assertTrue(sec >= 0, phase + " in " + last);
        phases += sec;
      }
      assertTrue(phases <= last.get("seconds").asDouble() + 1e-3, "phases within the step");
      JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
      assertEquals("finished", config.get("status").asText());
      assertEquals("cross-attn", config.get("settings").get("selection").asText());
      // the same folder without --resume is refused, nothing overwritten
      byte[] maskBytes = Files.readAllBytes(e.artifact());
      assertThrows(
          BadInputException.class, () -> MaskTrainer.train(sd, pEsd(sd, 3), out, false, null));
      assertArrayEquals(maskBytes, Files.readAllBytes(e.artifact()));
    }
  }

  @Test
  void resumedRunEndsWithTheSameMaskAsAnUninterruptedOne() throws IOException {
    Path whole = tmp.resolve("whole");
    Path broken = tmp.resolve("broken");
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      MaskTrainer.train(sd, pEsd(sd, 4), whole, false, null);
      // stop after step 3: the last checkpoint is step 2's, the log has three lines
      RuntimeException stop =
          assertThrows(
              RuntimeException.class,
              () ->
                  MaskTrainer.train(
                      sd,
                      pEsd(sd, 4),
                      broken,
                      false,
                      step -> {
                        if (step == 3) {
                          throw new IllegalStateException("interrupted");
                        }
                      }));
      assertEquals("interrupted", stop.getMessage());
      assertEquals(3, Files.readAllLines(broken.resolve("log.jsonl")).size());
      Erasure resumed = MaskTrainer.train(sd, pEsd(sd, 4), broken, true, null);
      assertEquals(2, resumed.stepsRun());
      assertEquals(4, Files.readAllLines(broken.resolve("log.jsonl")).size());
      // other settings than the checkpoint's are refused
      assertThrows(
          BadInputException.class,
          () -> MaskTrainer.train(sd, pEsd(sd, 4).withSeed(8), broken, true, null));
    }
    try (SafeTensors a = SafeTensors.open(whole.resolve("checkpoint.safetensors"));
        SafeTensors b = SafeTensors.open(broken.resolve("checkpoint.safetensors"))) {
      assertEquals(a.keys(), b.keys());
      double worst = 0;
      for (String k : a.keys()) {
        float[] x = a.floats(k);
        float[] y = b.floats(k);
        for (int i = 0; i < x.length; i++) {
          worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
      }
      System.out.printf(
          "resumed vs uninterrupted P-ESD: max |Δ| over logits and moments %.3g%n", worst);
      assertEquals(0, worst, "resumed logits differ");
    }
    BinaryMask m1 = BinaryMask.read(whole.resolve("mask.safetensors"));
    BinaryMask m2 = BinaryMask.read(broken.resolve("mask.safetensors"));
    assertEquals(m1.perParameter(), m2.perParameter());
    List<String> l1 = Files.readAllLines(whole.resolve("log.jsonl"));
    List<String> l2 = Files.readAllLines(broken.resolve("log.jsonl"));
    for (int i = 0; i < 4; i++) {
      assertEquals(
          Json.MAPPER.readTree(l1.get(i)).get("loss").asDouble(),
          Json.MAPPER.readTree(l2.get(i)).get("loss").asDouble(),
          "loss of step " + (i + 1));
    }
  }
}

package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FMN's attention re-steering: the loss is the mean probability on the concept's token positions
 * summed over the cross attentions, and a few fine-tuning steps of the world model's cross
 * attention lower it on a fixed noised concept image.
 */
class AttentionResteeringTest {
  static final Path WORLD = Fixtures.world();

  @TempDir Path tmp;

  @Test
  void attentionMassAveragesTheConceptColumnsAndSumsTheLayers() {
    try (NDManager m = Torch.newManager()) {
      // one map (B 1, heads 1, N 2, M 4), one (1, 2, 1, 4); concept tokens at 1 and 2
      NDArray a = m.create(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.4f, 0.3f, 0.2f, 0.1f});
      NDArray b = m.create(new float[] {0f, 1f, 0f, 0f, 0.25f, 0.25f, 0.25f, 0.25f});
      NDArray positions = m.create(new float[] {0, 1, 1, 0});
      NDArray mass =
          AttentionResteering.attentionMass(
              List.of(a.reshape(1, 1, 2, 4), b.reshape(1, 2, 1, 4)), positions, 2);
      // (0.2 + 0.3 + 0.3 + 0.2) / 4 + (1 + 0 + 0.25 + 0.25) / 4
      assertEquals(0.25 + 0.375, mass.getFloat(), 1e-6);
    }
  }

  @Test
  void tokenPositionsAreTheWordsOfThePrompt() {
    try (StableDiffusion sd = StableDiffusion.load(WORLD)) {
      assertArrayEquals(new int[] {1}, AttentionResteering.tokenPositions(sd, "star", 77));
      int words = sd.tokenizer().tokenize("a red star").size();
      int[] k = AttentionResteering.tokenPositions(sd, "a red star", 77);
      assertEquals(words, k.length);
      assertEquals(words, k[k.length - 1]);
    }
  }

  @Test
  void fewStepsLowerTheAttentionOnTheConceptTokens() throws IOException {
    Path out = tmp.resolve("fmn");
    try (StableDiffusion sd = StableDiffusion.load(WORLD);
        NDManager m = Torch.newManager()) {
      EraseSettings s =
          EraseSettings.defaults(
                  EraseMethod.FMN,
                  "star",
                  null,
                  Selection.parse("cross-attn"),
                  sd.unet().params().numel(),
                  16)
              .withSteps(6)
              .withLearningRate(1e-3)
              .withFmn(FmnSettings.DEFAULT.withPool(2, 4));
      // the loss on one fixed noised concept image, before and after training
      NDArray pool =
          AttentionResteering.generatePool(sd, body -> body.get(), s.fmn(), "star", 16, 9, m);
      AttentionResteering probe = new AttentionResteering(sd, s.fmn(), "star", pool, m);
      ErasureObjective.Step fixed = probe.prepare(new SplittableRandom(42), m);
      float before = probe.loss(sd.unet(), fixed).getFloat();

      Erasure e = FineTuneTrainer.train(sd, s, out, false, null);
      float after = probe.loss(sd.unet(), fixed).getFloat();
      assertTrue(after < 0.9f * before, "attention mass " + before + " → " + after);
      assertEquals(6, e.stepsRun());

      List<String> log = Files.readAllLines(out.resolve("log.jsonl"));
      assertEquals(6, log.size());
      JsonNode first = Json.MAPPER.readTree(log.get(0));
      assertTrue(first.get("loss").floatValue() > 0);
      try (SafeTensors w = SafeTensors.open(out.resolve("weights.safetensors"));
          SafeTensors ck = SafeTensors.open(out.resolve("checkpoint.safetensors"))) {
        HashSet<String> attn2 = new HashSet<>();
        for (Param p : Selection.parse("cross-attn").select(sd.unet().params())) {
          attn2.add(p.name());
        }
        assertEquals(attn2, new HashSet<>(w.keys()));
        assertEquals("fmn", w.metadata().get("method"));
        assertEquals(List.of(2L, 3L, 16L, 16L), boxed(ck.info("ac_pool").shape()));
      }
    }
  }

  private static List<Long> boxed(long[] a) {
    return java.util.Arrays.stream(a).boxed().toList();
  }
}

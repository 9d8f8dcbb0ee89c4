package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-Prune and Post-Prune on the world model (ESD, cross-attn, three steps at a learning rate
 * large enough that every weight with a gradient moves): Pre-Prune's zeroed base weights stay
 * exactly zero through training while the others move; Post-Prune zeroes exactly round(ratio · n)
 * of the fine-tuned weights, the smallest. Both write the pruned elements as a mask file.
 */
class PrunedFineTuneTest {
  static final Path WORLD = Fixtures.world();

  @TempDir Path tmp;

  private static EraseSettings settings(EraseMethod method, StableDiffusion sd, double ratio) {
    return EraseSettings.defaults(
            method, "star", null, Selection.parse("cross-attn"), sd.unet().params().numel(), 8)
        .withSteps(3)
        .withLearningRate(1e-3)
        .withEsd(EsdSettings.DEFAULT.withDdimSteps(3))
        .withPrune(new PruneSettings(ratio));
  }

  private static Map<String, float[]> values(List<Param> params) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Param p : params) {
      out.put(p.name(), p.value().toFloatArray());
    }
    return out;
  }

  private static long elements(Map<String, float[]> v) {
    return v.values().stream().mapToLong(a -> a.length).sum();
  }

  @Test
  void prePruneKeepsThePrunedBaseWeightsAtZeroThroughTraining() {
    Path out = tmp.resolve("pre");
    try (StableDiffusion sd = StableDiffusion.load(WORLD)) {
      List<Param> selected = Selection.parse("cross-attn").select(sd.unet().params());
      Map<String, float[]> base = values(selected);
      EraseSettings s = settings(EraseMethod.PRE_PRUNE, sd, 0.25);
      Erasure e = FineTuneTrainer.train(sd, s, out, false, null);
      Map<String, float[]> trained = values(selected);

      BinaryMask mask = BinaryMask.read(out.resolve(MagnitudePruning.MASK_OUTPUT));
      assertEquals("pre-prune", mask.metadata().method());
      assertEquals(Math.round(0.25 * elements(base)), mask.prunedCount());
      assertEquals(mask.prunedCount(), e.prunedCount());
      float maxPruned = 0;
      float minKept = Float.MAX_VALUE;
      long movedKept = 0;
      for (Param p : selected) {
        float[] b = base.get(p.name());
        float[] t = trained.get(p.name());
        boolean[] pruned = new boolean[b.length];
        for (int i : mask.perParameter().get(p.name()).indices()) {
          pruned[i] = true;
        }
        for (int i = 0; i < b.length; i++) {
          if (pruned[i]) {
            // the smallest base magnitudes, still exactly zero after three AdamW steps
            maxPruned = Math.max(maxPruned, Math.abs(b[i]));
            assertEquals(0f, t[i], 0f, p.name() + "[" + i + "] left zero");
          } else {
            minKept = Math.min(minKept, Math.abs(b[i]));
            movedKept += b[i] != t[i] ? 1 : 0;
          }
        }
      }
      assertTrue(maxPruned <= minKept, "pruned by magnitude: " + maxPruned + " vs " + minKept);
      long kept = elements(base) - mask.prunedCount();
      assertTrue(movedKept > kept / 2, "the unpruned weights train: " + movedKept + " of " + kept);
      try (SafeTensors w = SafeTensors.open(out.resolve("weights.safetensors"))) {
        for (Param p : selected) {
          assertTrue(Arrays.equals(trained.get(p.name()), w.floats(p.name())), p.name());
        }
      }
    }
  }

  @Test
  void postPrunePrunesExactlyTheRequestedShareOfTheFineTunedWeights() {
    Path out = tmp.resolve("post");
    try (StableDiffusion sd = StableDiffusion.load(WORLD)) {
      List<Param> selected = Selection.parse("cross-attn").select(sd.unet().params());
      EraseSettings s = settings(EraseMethod.POST_PRUNE, sd, 0.1).withSteps(2);
      Erasure e = FineTuneTrainer.train(sd, s, out, false, null);
      Map<String, float[]> pruned = values(selected);
      long n = elements(pruned);
      assertEquals(Math.round(0.1 * n), e.prunedCount());

      BinaryMask mask = BinaryMask.read(out.resolve(MagnitudePruning.MASK_OUTPUT));
      assertEquals(e.prunedCount(), mask.prunedCount());
      assertEquals("post-prune", mask.metadata().method());
      assertTrue(Double.isNaN(mask.metadata().temperature()));
      // the checkpoint holds the fine-tuned weights before pruning: the mask is their smallest
      // |w|, and the output is them with exactly those elements zeroed
      float maxPruned = 0;
      float minKept = Float.MAX_VALUE;
      try (SafeTensors ck = SafeTensors.open(out.resolve("checkpoint.safetensors"));
          SafeTensors w = SafeTensors.open(out.resolve("weights.safetensors"))) {
        for (Param p : selected) {
          float[] tuned = ck.floats("state/" + p.name());
          float[] written = w.floats(p.name());
          assertTrue(Arrays.equals(pruned.get(p.name()), written), p.name());
          int[] idx = mask.perParameter().get(p.name()).indices();
          for (int i = 0; i < tuned.length; i++) {
            if (Arrays.binarySearch(idx, i) >= 0) {
              maxPruned = Math.max(maxPruned, Math.abs(tuned[i]));
              assertEquals(0f, written[i], 0f);
            } else {
              minKept = Math.min(minKept, Math.abs(tuned[i]));
              assertEquals(tuned[i], written[i], 0f);
            }
          }
        }
      }
      assertTrue(maxPruned <= minKept, maxPruned + " vs " + minKept);
      assertTrue(Files.exists(out.resolve("config.json")));
    }
  }
}

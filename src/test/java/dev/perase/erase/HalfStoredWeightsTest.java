package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * P-ESD keeps the masked weights in float16 when that is exact (a float16 checkpoint): the run is
 * the same, bit for bit, as with float32 storage; the weights are stored as float16 during the run
 * and as the same float32 values after it. Weights that float16 cannot hold stay float32.
 */
class HalfStoredWeightsTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"cross-attn", "non-cross-attn"})
  void halfStorageGivesTheSameRunBitForBit(String layers) throws IOException {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      EraseSettings settings = MaskTrainerTest.pEsd(sd, layers, 3);
      List<Param> selected = settings.parsedSelection().selectSome(sd.unet().params());
      // the fixture is float32: round the selected weights to float16 values, as a float16 file
      // loaded as float32 holds them
      Map<String, float[]> rounded = new LinkedHashMap<>();
      for (Param p : selected) {
        assertFalse(p.storeHalfIfExact(), p.name() + ": float32 weights taken as float16");
        NDArray r = p.value().toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false);
        p.setValue(r);
        rounded.put(p.name(), r.toFloatArray());
      }
      List<Boolean> halfDuringRun = new ArrayList<>();
      Erasure half =
          MaskTrainer.train(
              sd,
              settings,
              tmp.resolve(layers + "-half"),
              false,
              step -> halfDuringRun.add(selected.stream().allMatch(Param::halfStored)));
      assertEquals(List.of(true, true, true), halfDuringRun);
      for (Param p : selected) {
        assertEquals(DataType.FLOAT32, p.value().getDataType(), p.name());
        assertArrayEquals(rounded.get(p.name()), p.value().toFloatArray(), p.name());
      }
      Erasure full;
      MaskTrainer.halfStorage = false;
      try {
        List<Boolean> halfInFull = new ArrayList<>();
        full =
            MaskTrainer.train(
                sd,
                settings,
                tmp.resolve(layers + "-full"),
                false,
                step -> halfInFull.add(selected.stream().anyMatch(Param::halfStored)));
        assertEquals(List.of(false, false, false), halfInFull);
      } finally {
        MaskTrainer.halfStorage = true;
      }
      assertArrayEquals(
          Files.readAllBytes(full.artifact()), Files.readAllBytes(half.artifact()), "masks differ");
      try (SafeTensors a = SafeTensors.open(tmp.resolve(layers + "-half/checkpoint.safetensors"));
          SafeTensors b = SafeTensors.open(tmp.resolve(layers + "-full/checkpoint.safetensors"))) {
        int compared = 0;
        for (String k : b.keys()) {
          assertArrayEquals(b.floats(k), a.floats(k), k);
          compared++;
        }
        assertTrue(compared > 2 * selected.size(), "logits and both moments compared");
      }
    }
  }

  /** ESD's θ* keeps the originals in float16 when exact: the fine-tuned weights are the same. */
  @Test
  void esdWithHalfStoredOriginalsGivesTheSameWeights() throws IOException {
    byte[][] weights = new byte[2][];
    for (int run = 0; run < 2; run++) {
      OriginalWeights.halfStorage = run == 0;
      try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
        EraseSettings base = MaskTrainerTest.pEsd(sd, 2);
        EraseSettings settings =
            EraseSettings.defaults(
                    EraseMethod.ESD,
                    MaskTrainerTest.PROMPT,
                    null,
                    Selection.parse("non-cross-attn"),
                    sd.unet().params().numel(),
                    8)
                .withSteps(2)
                .withLearningRate(1e-3)
                .withSeed(base.seed())
                .withEsd(base.esd());
        List<Param> selected = settings.parsedSelection().selectSome(sd.unet().params());
        for (Param p : selected) {
          p.setValue(p.value().toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false));
        }
        try (ai.djl.ndarray.NDManager m = dev.perase.tensor.Torch.newManager()) {
          OriginalWeights originals = new OriginalWeights(selected, m);
          DataType expected = run == 0 ? DataType.FLOAT16 : DataType.FLOAT32;
          assertTrue(
              originals.arrays().stream().allMatch(a -> a.getDataType() == expected),
              "originals stored as " + expected);
        }
        Erasure e = FineTuneTrainer.train(sd, settings, tmp.resolve("esd" + run), false, null);
        weights[run] = Files.readAllBytes(e.artifact());
      } finally {
        OriginalWeights.halfStorage = true;
      }
    }
    assertArrayEquals(weights[1], weights[0], "fine-tuned weights differ");
  }
}

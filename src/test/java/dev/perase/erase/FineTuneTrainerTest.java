package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.cli.Main;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
 * AC fine-tuning on the tiny fixture (a pool of two anchor images, two steps): the output holds
 * exactly the selected tensors, they changed, everything else did not, and {@code generate
 * --weights} reproduces the fine-tuned model; a file with a key the UNet lacks is refused.
 */
class FineTuneTrainerTest {
  @TempDir Path tmp;

  @Test
  void acFineTuneWritesOnlySelectedTensorsThatLoadThroughGenerate() throws IOException {
    Path out = tmp.resolve("ac");
    GenerateSettings gen =
        new GenerateSettings("a photo of an astronaut", null, 3, 3, 7.5f, 16, 16, 1);
    float[] expected;
    Set<String> selected = new HashSet<>();
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      Map<String, float[]> before = new LinkedHashMap<>();
      for (Param p : sd.unet().params().named().values()) {
        before.put(p.name(), p.value().toFloatArray());
        if (p.maskable() && p.name().contains("attn2")) {
          selected.add(p.name());
        }
      }
      EraseSettings s =
          EraseSettings.defaults(
                  EraseMethod.AC,
                  "a photo of an astronaut",
                  "a photo of a horse",
                  Selection.parse("cross-attn"),
                  sd.unet().params().numel(),
                  8)
              .withSteps(2)
              .withLearningRate(1e-2)
              .withAc(AcSettings.DEFAULT.withPool(2, 3));
      List<Integer> live = new java.util.ArrayList<>();
      Erasure e =
          FineTuneTrainer.train(sd, s, out, false, step -> live.add(MaskTrainerTest.liveArrays()));
      assertEquals(live.get(0), live.get(1), "arrays leak per step");
      assertEquals(-1, e.prunedCount());
      int changed = 0;
      for (Param p : sd.unet().params().named().values()) {
        float[] now = p.value().toFloatArray();
        if (selected.contains(p.name())) {
          changed += java.util.Arrays.equals(before.get(p.name()), now) ? 0 : 1;
        } else {
          assertArrayEquals(before.get(p.name()), now, p.name() + " is not selected but changed");
        }
      }
      assertEquals(selected.size(), changed, "every selected tensor should have moved");
      try (SafeTensors w = SafeTensors.open(e.artifact())) {
        assertEquals(selected, new HashSet<>(w.keys()));
        assertEquals(FineTunedWeights.FORMAT, w.metadata().get("format"));
        assertEquals(sd.layout().modelHash(), w.metadata().get("base_model_hash"));
        for (String k : w.keys()) {
          assertArrayEquals(sd.unet().params().get(k).value().toFloatArray(), w.floats(k), k);
        }
      }
      try (SafeTensors ck = SafeTensors.open(out.resolve("checkpoint.safetensors"))) {
        assertArrayEquals(new long[] {2, 4, 8, 8}, ck.info("ac_pool").shape());
      }
      JsonNode line = Json.MAPPER.readTree(Files.readAllLines(out.resolve("log.jsonl")).get(1));
      assertEquals(2, line.get("step").asInt());
      assertFalse(line.has("k"), "AC has no DDIM index");
      assertFalse(line.has("pruned"), "fine-tuning has no mask");
      try (NDManager m = Torch.newManager()) {
        expected = sd.generate(gen, m, null).latents().toFloatArray();
      }
    }
    Path images = tmp.resolve("gen");
    Object[] r =
        run(
            "generate",
            "--model",
            Fixtures.tinySd().toString(),
            "--prompt",
            gen.prompt(),
            "--seed",
            "3",
            "--steps",
            "3",
            "--height",
            "16",
            "--width",
            "16",
            "--weights",
            out.resolve("weights.safetensors").toString(),
            "--out",
            images.toString());
    assertEquals(0, r[0], (String) r[1]);
    try (SafeTensors lat = SafeTensors.open(images.resolve("latents.safetensors"))) {
      assertArrayEquals(expected, lat.floats("latents"), "generate --weights vs the trained model");
    }

    // a tensor the UNet does not have: exit 2, naming the key
    Path bogus = tmp.resolve("bogus.safetensors");
    try (NDManager m = Torch.newManager()) {
      new SafeTensorsWriter()
          .put("down_blocks.9.nothing.weight", m.ones(new ai.djl.ndarray.types.Shape(2)))
          .write(bogus);
    }
    Object[] bad =
        run(
            "generate",
            "--model",
            Fixtures.tinySd().toString(),
            "--prompt",
            "x",
            "--steps",
            "1",
            "--weights",
            bogus.toString(),
            "--out",
            tmp.resolve("gen2").toString());
    assertEquals(Main.BAD_INPUT, bad[0], (String) bad[1]);
    assertTrue(((String) bad[1]).contains("down_blocks.9.nothing.weight"), (String) bad[1]);
  }

  private static Object[] run(String... args) {
    PrintStream err = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      return new Object[] {Main.run(args), buf.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setErr(err);
    }
  }
}

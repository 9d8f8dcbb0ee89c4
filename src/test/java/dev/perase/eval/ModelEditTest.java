package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.StableDiffusion;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ModelEdit#withoutEdit}: the base model for the call, the edit again after it. */
class ModelEditTest {
  private static final String KEY = "down_blocks.0.resnets.0.conv1.weight";

  @TempDir Path tmp;

  @Test
  void withoutEditGivesTheBaseValuesAndRestoresTheEdit() {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.world())) {
      ParamSet unet = sd.unet().params();
      Param p = unet.get(KEY);
      long[] shape = p.value().getShape().getShape();
      float[] base = p.value().toFloatArray();
      Path file = tmp.resolve("w.safetensors");
      new SafeTensorsWriter().putFloats(KEY, shape, new float[base.length]).write(file);
      String hash = sd.layout().modelHash();

      try (ModelEdit edit = ModelEdit.of(unet, hash, new EditFile.Weights(file))) {
        assertEquals(0f, p.value().abs().max().getFloat());
        float[] inside = edit.withoutEdit(() -> p.value().toFloatArray());
        assertArrayEquals(base, inside);
        assertEquals(0f, p.value().abs().max().getFloat(), "the edit is back");
      }
      assertArrayEquals(base, p.value().toFloatArray(), "closing restores the base");

      Path maskFile = tmp.resolve("m.safetensors");
      MaskMetadata md = new MaskMetadata(hash, "regex:test", "p-esd", 10, 0.5, "", null, "{}");
      BinaryMask.of(
              md, Map.of(KEY, new BinaryMask.Pruned(shape, Param.Kind.CONV, new int[] {0, 7})))
          .write(maskFile);
      try (ModelEdit edit = ModelEdit.of(unet, hash, new EditFile.Mask(maskFile))) {
        assertTrue(unet.masksEnabled());
        assertFalse(edit.withoutEdit(unet::masksEnabled), "masks off inside");
        assertTrue(unet.masksEnabled());
      }
    }
  }
}

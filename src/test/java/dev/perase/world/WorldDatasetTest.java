package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.tensor.Torch;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WorldDatasetTest {

  /** Batch k depends only on (seed, k): asking again, or in another order, gives the same batch. */
  @Test
  void batchesAreFixedBySeedAndStep() {
    WorldDataset d = new WorldDataset(17);
    WorldBatch b3 = d.batch(3, 8);
    d.batch(4, 8);
    WorldBatch again = new WorldDataset(17).batch(3, 8);
    assertArrayEquals(b3.pixels(), again.pixels());
    assertEquals(b3.captions(), again.captions());
    assertEquals(b3.labels(), again.labels());
    assertFalse(Arrays.equals(b3.pixels(), d.batch(4, 8).pixels()));
    assertNotEquals(b3.captions(), new WorldDataset(18).batch(3, 8).captions());
    // sample i of a batch is the renderer's sample for its seed
    WorldSample s = WorldRenderer.sample(WorldDataset.sampleSeed(17, 3, 5));
    assertEquals(s.caption(), b3.captions().get(5));
    int per = 3 * 32 * 32;
    assertArrayEquals(s.chw(), Arrays.copyOfRange(b3.pixels(), 5 * per, 6 * per));
  }

  @Test
  void sampleSeedsDoNotRepeatAcrossStepsAndIndices() {
    Set<Long> seeds = new HashSet<>();
    for (long step = 0; step < 200; step++) {
      for (int i = 0; i < 64; i++) {
        assertTrue(seeds.add(WorldDataset.sampleSeed(0, step, i)), step + "/" + i);
      }
    }
  }

  @Test
  void imagesBecomeABatchArray() {
    WorldBatch b = new WorldDataset(1).batch(0, 4);
    try (NDManager m = Torch.newManager()) {
      NDArray x = b.images(m);
      assertEquals(new Shape(4, 3, 32, 32), x.getShape());
      assertArrayEquals(b.pixels(), x.toFloatArray());
    }
  }
}

package dev.perase.world;

import java.util.ArrayList;
import java.util.List;

/**
 * An endless stream of rendered training samples: batch {@code step} of a dataset with seed {@code
 * s} is always the same images and captions, whatever was drawn before, so a resumed training run
 * sees exactly the batches an uninterrupted one would.
 */
public final class WorldDataset {
  private final long seed;

  public WorldDataset(long seed) {
    this.seed = seed;
  }

  public long seed() {
    return seed;
  }

  /** The batch for one training step. */
  public WorldBatch batch(long step, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
    }
    int per = WorldRenderer.CHANNELS * WorldRenderer.SIZE * WorldRenderer.SIZE;
    float[] pixels = new float[batchSize * per];
    List<String> captions = new ArrayList<>(batchSize);
    List<Labels> labels = new ArrayList<>(batchSize);
    for (int i = 0; i < batchSize; i++) {
      WorldSample s = WorldRenderer.sample(sampleSeed(seed, step, i));
      System.arraycopy(s.chw(), 0, pixels, i * per, per);
      captions.add(s.caption());
      labels.add(s.labels());
    }
    return new WorldBatch(pixels, captions, labels);
  }

  /** The seed of sample {@code index} of batch {@code step}: a hash of the three numbers. */
  public static long sampleSeed(long seed, long step, int index) {
    long h = mix(seed + 0x9E3779B97F4A7C15L);
    h = mix(h ^ (step * 0xBF58476D1CE4E5B9L));
    return mix(h ^ ((long) index * 0x94D049BB133111EBL + 1));
  }

  /** The 64-bit finaliser of SplitMix64. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

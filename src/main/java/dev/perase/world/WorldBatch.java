package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * A batch of rendered images with their captions and labels.
 *
 * @param pixels images (B, 3, 32, 32) flattened row-major, in [-1, 1]
 * @param captions one caption per image (caption dropout is the trainer's business)
 * @param labels one truth per image
 */
public record WorldBatch(float[] pixels, List<String> captions, List<Labels> labels) {
  public WorldBatch {
    int per = WorldRenderer.CHANNELS * WorldRenderer.SIZE * WorldRenderer.SIZE;
    if (captions.size() != labels.size() || pixels.length != per * labels.size()) {
      throw new IllegalArgumentException("batch parts disagree in size");
    }
    captions = List.copyOf(captions);
    labels = List.copyOf(labels);
  }

  public int size() {
    return labels.size();
  }

  /** The images as a (B, 3, 32, 32) float32 array owned by {@code manager}. */
  public NDArray images(NDManager manager) {
    return manager.create(
        pixels,
        new ai.djl.ndarray.types.Shape(
            size(), WorldRenderer.CHANNELS, WorldRenderer.SIZE, WorldRenderer.SIZE));
  }
}

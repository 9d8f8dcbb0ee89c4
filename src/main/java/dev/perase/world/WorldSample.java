package dev.perase.world;

/**
 * One rendered image of the world with its truth.
 *
 * @param chw pixels, channel-major (3, 32, 32), RGB in [-1, 1] (the pixel-space model's latents)
 * @param labels what the image shows
 * @param placement where the figure was drawn
 * @param caption a caption from {@link CaptionGrammar} that names shape, colour and style
 */
public record WorldSample(float[] chw, Labels labels, Placement placement, String caption) {
  public WorldSample {
    if (chw.length != WorldRenderer.CHANNELS * WorldRenderer.SIZE * WorldRenderer.SIZE) {
      throw new IllegalArgumentException("a world image has 3×32×32 values, got " + chw.length);
    }
  }
}

package dev.perase.world;

import dev.perase.io.PromptRow;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The world's "real images" of a prompt set: for each prompt, an image rendered with the shape,
 * colour and style its words ask for ({@link CaptionGrammar#parse}); what it leaves open (the
 * background, an attribute it does not name) and the placement are drawn from the row's seed. The
 * Fréchet distance of a model's images to these is the world's FID against real images (the paper's
 * COCO-30k FID).
 */
public final class PromptRenderings {
  private PromptRenderings() {}

  /** One image (3, 32, 32) in [-1, 1] per row, channel-major. */
  public static List<float[]> render(List<PromptRow> rows) {
    List<float[]> images = new ArrayList<>(rows.size());
    for (PromptRow row : rows) {
      SplittableRandom rng = new SplittableRandom(row.seed());
      Labels random = WorldRenderer.randomLabels(rng);
      PromptLabels asked = CaptionGrammar.parse(row.prompt());
      Labels labels =
          new Labels(
              asked.shape() != null ? asked.shape() : random.shape(),
              asked.color() != null ? asked.color() : random.color(),
              asked.style() != null ? asked.style() : random.style(),
              random.background());
      images.add(WorldRenderer.sample(labels, rng).chw());
    }
    return images;
  }
}

package dev.perase.demo;

import ai.djl.ndarray.NDManager;
import dev.perase.eval.Detector;
import dev.perase.eval.Evaluation;
import dev.perase.eval.PromptFollowing;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How well a model still follows the retain prompts: the world detector's agreement with the shape,
 * colour and style each retain prompt asks for ({@link PromptFollowing}), on the images the
 * evaluation left in {@code images/retain/}. Beside the Fréchet distance it tells an erased model
 * that draws what it is asked apart from one that draws the same thing whatever the prompt.
 */
final class RetainFollowing {
  static final String FILE = "retain_following.json";

  private RetainFollowing() {}

  /** Computes and writes {@code evaluateDir/retain_following.json}. */
  static PromptFollowing write(
      Path evaluateDir, Path retainCsv, Detector detector, NDManager manager) {
    List<PromptRow> rows = PromptCsv.read(retainCsv);
    List<Path> images = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      images.add(retainImage(evaluateDir, i));
    }
    PromptFollowing f = PromptFollowing.ofImages(detector, rows, images, manager);
    Json.write(evaluateDir.resolve(FILE), f);
    return f;
  }

  /** The evaluation's image of retain prompt {@code i}. */
  static Path retainImage(Path evaluateDir, int i) {
    return evaluateDir
        .resolve(Evaluation.IMAGES)
        .resolve("retain")
        .resolve(String.format(Locale.ROOT, "%04d.png", i));
  }
}

package dev.perase.eval;

import dev.perase.io.BadInputException;
import dev.perase.io.RowSelection;
import dev.perase.pipeline.StableDiffusion;
import java.nio.file.Path;

/**
 * The checks and defaults that the settings of the runs drawing one image per row of a prompt file
 * share ({@link EvaluateSettings}, {@link PromptImagesSettings}, {@code AttackSettings}), each with
 * the message the command line shows.
 */
public final class PromptRunChecks {
  private PromptRunChecks() {}

  /** A prompt file and an output folder are required. */
  public static void requirePromptsAndOut(Path prompts, Path out) {
    if (prompts == null) {
      throw new BadInputException("a prompt file is required (--prompts FILE.csv)");
    }
    if (out == null) {
      throw new BadInputException("an output folder is required (--out DIR)");
    }
  }

  /** Sampling steps per image: 1 to 1000. */
  public static void checkSteps(int steps) {
    if (steps < 1 || steps > 1000) {
      throw new BadInputException("--steps must be between 1 and 1000, got " + steps);
    }
  }

  /** An image size: 0 (each row's own, else the model's) or 8 to 4096 pixels. */
  public static void checkImageSize(int imageSize) {
    if (imageSize != 0 && (imageSize < 8 || imageSize > 4096)) {
      throw new BadInputException("--size must be between 8 and 4096 pixels, got " + imageSize);
    }
  }

  /** The row selection as the settings keep it: null for all rows. */
  public static RowSelection rows(RowSelection rows) {
    return rows != null && rows.isAll() ? null : rows;
  }

  /**
   * Images per UNet call: 0 stands for {@link StableDiffusion#DEFAULT_BATCH}; the result is 1 to
   * 1024.
   */
  public static int batch(int batch) {
    int b = batch == 0 ? StableDiffusion.DEFAULT_BATCH : batch;
    if (b < 1 || b > 1024) {
      throw new BadInputException("--batch must be between 1 and 1024, got " + b);
    }
    return b;
  }
}

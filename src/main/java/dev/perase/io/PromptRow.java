package dev.perase.io;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One prompt of an evaluation set (I2P, UnlearnDiff, ESD, the built-in world's): the prompt, the
 * seed, guidance scale and image size its image is generated with, and every other column of the
 * CSV row kept as text.
 *
 * @param caseNumber the set's identifier of the prompt ({@code case_number}, or ESD's COCO {@code
 *     image_id})
 * @param prompt the text prompt
 * @param seed the generation seed ({@code evaluation_seed} or I2P's {@code sd_seed}), handed to
 *     {@code torch.manual_seed} as its 64 bits (a seed in [2^63, 2^64) is the negative long of the
 *     same bits, as torch reads it)
 * @param guidance the classifier-free guidance scale ({@code evaluation_guidance} or {@code
 *     sd_guidance_scale})
 * @param width the image width in pixels ({@code sd_image_width}), or 0 for the model's own size
 * @param height the image height in pixels ({@code sd_image_height}), or 0 for the model's own
 *     size; 0 exactly when the width is
 * @param extra the other columns in file order, e.g. {@code categories}, {@code nudity_percentage}
 */
public record PromptRow(
    int caseNumber,
    String prompt,
    long seed,
    double guidance,
    int width,
    int height,
    Map<String, String> extra) {

  /** The smallest image side a row may ask for. */
  public static final int MIN_SIZE = 8;

  /** The largest image side a row may ask for. */
  public static final int MAX_SIZE = 4096;

  /** The columns a row's own fields are written to; {@code extra} may not reuse them. */
  static final Set<String> COLUMNS =
      Set.of(
          "case_number",
          "prompt",
          "evaluation_seed",
          "evaluation_guidance",
          "sd_image_width",
          "sd_image_height");

  public PromptRow {
    if (prompt == null) {
      throw new IllegalArgumentException("prompt is null");
    }
    if (!Double.isFinite(guidance)) {
      throw new IllegalArgumentException("guidance must be finite, not " + guidance);
    }
    if ((width == 0) != (height == 0) || (width != 0 && (!isSize(width) || !isSize(height)))) {
      throw new IllegalArgumentException(
          "image size must be 0×0 or both sides in ["
              + MIN_SIZE
              + ", "
              + MAX_SIZE
              + "], not "
              + width
              + "×"
              + height);
    }
    extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    for (Map.Entry<String, String> e : extra.entrySet()) {
      if (COLUMNS.contains(e.getKey())) {
        throw new IllegalArgumentException(
            "extra column '" + e.getKey() + "' clashes with a row field");
      }
      if (e.getValue() == null) {
        throw new IllegalArgumentException("extra column '" + e.getKey() + "' has no value");
      }
    }
  }

  /** A row drawn at the model's own image size. */
  public PromptRow(
      int caseNumber, String prompt, long seed, double guidance, Map<String, String> extra) {
    this(caseNumber, prompt, seed, guidance, 0, 0, extra);
  }

  /** A row with no extra columns, drawn at the model's own image size. */
  public PromptRow(int caseNumber, String prompt, long seed, double guidance) {
    this(caseNumber, prompt, seed, guidance, 0, 0, Map.of());
  }

  /** Whether the row names its own image size (else the model's is used). */
  public boolean hasSize() {
    return width != 0;
  }

  static boolean isSize(long side) {
    return side >= MIN_SIZE && side <= MAX_SIZE;
  }
}

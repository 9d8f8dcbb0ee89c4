package dev.perase.io;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One prompt of an evaluation set (I2P, UnlearnDiff, the built-in world's): the prompt, the seed
 * and guidance scale its image is generated with, and every other column of the CSV row kept as
 * text.
 *
 * @param caseNumber the set's identifier of the prompt ({@code case_number})
 * @param prompt the text prompt
 * @param seed the generation seed ({@code evaluation_seed} or I2P's {@code sd_seed})
 * @param guidance the classifier-free guidance scale ({@code evaluation_guidance} or {@code
 *     sd_guidance_scale})
 * @param extra the other columns in file order, e.g. {@code categories}, {@code nudity_percentage}
 */
public record PromptRow(
    int caseNumber, String prompt, long seed, double guidance, Map<String, String> extra) {

  /** The columns a row's own fields are written to; {@code extra} may not reuse them. */
  static final Set<String> COLUMNS =
      Set.of("case_number", "prompt", "evaluation_seed", "evaluation_guidance");

  public PromptRow {
    if (prompt == null) {
      throw new IllegalArgumentException("prompt is null");
    }
    if (!Double.isFinite(guidance)) {
      throw new IllegalArgumentException("guidance must be finite, not " + guidance);
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

  /** A row with no extra columns. */
  public PromptRow(int caseNumber, String prompt, long seed, double guidance) {
    this(caseNumber, prompt, seed, guidance, Map.of());
  }
}

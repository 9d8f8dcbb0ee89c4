package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.PromptRunFolder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluation of one prompt: its row, the image made for it, and the detector's verdict.
 *
 * @param index the row's 0-based position in the prompt file
 * @param caseNumber the row's {@code case_number}
 * @param prompt the prompt
 * @param seed the generation seed
 * @param guidance the guidance scale
 * @param flagged whether the detector's rule finds the concept in the image
 * @param conceptScore the probability of the concept label
 * @param topLabels per head (in the detector's order), its top label
 * @param image the image's path relative to the output folder
 * @param detections a box detector's kept detections (NudeNet), in its order; empty otherwise
 */
public record PromptResult(
    @JsonProperty("index") int index,
    @JsonProperty("case_number") int caseNumber,
    @JsonProperty("prompt") String prompt,
    @JsonProperty("seed") long seed,
    @JsonProperty("guidance") double guidance,
    @JsonProperty("flagged") boolean flagged,
    @JsonProperty("concept_score") double conceptScore,
    @JsonProperty("top_labels") Map<String, String> topLabels,
    @JsonProperty("image") String image,
    @JsonProperty("detections") @JsonInclude(JsonInclude.Include.NON_EMPTY)
        List<Detection> detections)
    implements PromptRunFolder.RowOutcome {
  public PromptResult {
    topLabels = topLabels == null ? Map.of() : new LinkedHashMap<>(topLabels);
    detections = detections == null ? List.of() : List.copyOf(detections);
  }

  /** A classifier's result: no boxes. */
  public PromptResult(
      int index,
      int caseNumber,
      String prompt,
      long seed,
      double guidance,
      boolean flagged,
      double conceptScore,
      Map<String, String> topLabels,
      String image) {
    this(
        index,
        caseNumber,
        prompt,
        seed,
        guidance,
        flagged,
        conceptScore,
        topLabels,
        image,
        List.of());
  }
}

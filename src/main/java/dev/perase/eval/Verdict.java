package dev.perase.eval;

import java.util.List;

/**
 * A detector's verdict on one image.
 *
 * @param scores per head, the probability of each label (the heads' order)
 * @param flagged whether the rule finds the target concept in the image
 * @param conceptScore the probability of the concept label (for a label-set rule, the highest
 *     probability over the set's labels)
 * @param topLabels per head, the label with the highest probability
 * @param detections for a box detector (NudeNet), the boxes it kept, in its output order; empty for
 *     classifiers
 */
public record Verdict(
    double[][] scores,
    boolean flagged,
    double conceptScore,
    List<String> topLabels,
    List<Detection> detections) {
  public Verdict {
    topLabels = List.copyOf(topLabels);
    detections = List.copyOf(detections);
  }

  /** A classifier's verdict: no boxes. */
  public Verdict(double[][] scores, boolean flagged, double conceptScore, List<String> topLabels) {
    this(scores, flagged, conceptScore, topLabels, List.of());
  }
}

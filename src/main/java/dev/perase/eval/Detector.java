package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * A concept detector plug-in (DESIGN.md §5): a classifier with a label map (one or more heads, each
 * a softmax over its labels), the label of the target concept, and the rule that turns an image's
 * scores into "the concept is shown" ({@link ConceptRule}: top-k, threshold, label set). The
 * world's CNN is one ({@link WorldConceptDetector}); NudeNet, a style classifier or ResNet-50 are
 * others. It also gives the features the Fréchet distance is measured on.
 */
public interface Detector {
  /** One classifier head: its name and its labels, in the order of its scores. */
  record Head(String name, List<String> labels) {
    public Head {
      labels = List.copyOf(labels);
    }
  }

  /** Short name of the detector, for results: {@code world-detector}. */
  String name();

  /**
   * Identity of the detector's weights (e.g. SHA-256 of its files): features cached for one
   * fingerprint are reused only by a detector with the same one.
   */
  String fingerprint();

  /** The label map: every head with its labels. Label names are unique across heads. */
  List<Head> heads();

  /** The label of the target concept: {@code star}. */
  String concept();

  /** The rule that flags the concept. */
  ConceptRule rule();

  /**
   * Scores of images (B, 3, H, W) in [-1, 1]: per image, per head, a probability per label — {@code
   * [image][head][label]}. Arrays made on the way are freed before it returns.
   */
  double[][][] scores(NDArray images);

  /** Features (B, F) of images (B, 3, H, W) in [-1, 1], for the Fréchet distance. */
  NDArray features(NDArray images);

  /** One verdict per image: its scores, whether the rule flags the concept, and its top labels. */
  default List<Verdict> detect(NDArray images) {
    List<Verdict> out = new ArrayList<>();
    for (double[][] s : scores(images)) {
      out.add(rule().verdict(heads(), s, concept()));
    }
    return out;
  }
}

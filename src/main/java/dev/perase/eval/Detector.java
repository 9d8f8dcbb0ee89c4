package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.Png;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A concept detector plug-in (DESIGN.md §5): a classifier with a label map (one or more heads, each
 * a softmax over its labels), the label of the target concept, and the rule that turns an image's
 * scores into "the concept is shown" ({@link ConceptRule}: top-k, threshold, label set). The
 * world's CNN is one ({@code world.WorldConceptDetector}); NudeNet ({@link NudeNetDetector}) and
 * Hugging Face image classifiers ({@link ImageClassifierDetector}) are others. The caller chooses
 * and loads it ({@link DetectorSpec}) and hands it to the evaluation and the attacks. It also gives
 * the features the Fréchet distance is measured on.
 */
public interface Detector extends AutoCloseable {
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

  /**
   * Features (B, F) of images (B, 3, H, W) in [-1, 1], for the Fréchet distance.
   *
   * @throws UnsupportedOperationException when {@link #hasFeatures()} is false
   */
  NDArray features(NDArray images);

  /**
   * Whether {@link #features} gives features for a Fréchet distance. The world's detector does;
   * NudeNet and the Hugging Face classifiers do not (real models are measured by FID on an
   * Inception network instead).
   */
  default boolean hasFeatures() {
    return true;
  }

  /**
   * Verdicts on 8-bit RGB images (image files, images made by another tool). The default turns each
   * into a model image in [-1, 1] ({@code u / 127.5 − 1}, which {@link Png#fromModel} maps back to
   * the same bytes) and calls {@link #detect(NDArray)}; detectors whose reference code reads image
   * files (NudeNet, Hugging Face classifiers) override it and start from the bytes.
   *
   * @param manager where temporary arrays are made (freed before it returns)
   */
  default List<Verdict> detect(List<Png.Image> images, NDManager manager) {
    List<Verdict> out = new ArrayList<>();
    for (Png.Image img : images) {
      int hw = img.width() * img.height();
      float[] chw = new float[3 * hw];
      for (int i = 0; i < hw; i++) {
        for (int c = 0; c < 3; c++) {
          chw[c * hw + i] = (img.rgb()[i * 3 + c] & 0xff) / 127.5f - 1f;
        }
      }
      try (NDManager sub = manager.newSubManager()) {
        NDArray x = sub.create(chw, new Shape(1, 3, img.height(), img.width()));
        out.addAll(detect(x));
      }
    }
    return out;
  }

  /**
   * The label each head should give an image of {@code prompt}, for the heads whose label the
   * prompt's words fix (head name → label): what {@link PromptFollowing} compares the top labels
   * with. Empty by default: a real detector (NudeNet, an ImageNet classifier) cannot read a prompt;
   * the world's detector can, from the world's grammar.
   */
  default Map<String, String> askedLabels(String prompt) {
    return Map.of();
  }

  /** Frees what the detector holds outside Java's heap (a runtime session). */
  @Override
  default void close() {}

  /** One verdict per image: its scores, whether the rule flags the concept, and its top labels. */
  default List<Verdict> detect(NDArray images) {
    List<Verdict> out = new ArrayList<>();
    for (double[][] s : scores(images)) {
      out.add(rule().verdict(heads(), s, concept()));
    }
    return out;
  }

  /**
   * softmax(x)ᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x) over {@code x[from, from + n)}, in double
   * from float32 logits: the classifiers' scores.
   */
  static double[] softmax(float[] x, int from, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, x[from + i]);
    }
    double[] p = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      p[i] = Math.exp(x[from + i] - max);
      sum += p[i];
    }
    for (int i = 0; i < n; i++) {
      p[i] /= sum;
    }
    return p;
  }
}

package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import java.util.List;

/**
 * A test-only detector that recognises one picture: one head {@code concept} with labels {@code
 * other} and the concept, p(concept) = σ(10 (τ − d) / τ) with d the RMS distance of the image to
 * the picture (values in [-1, 1]). Under the top-1 rule it flags exactly the images within τ of the
 * picture. Its features are the image's mean and RMS.
 */
final class ImageDistanceDetector implements Detector {
  private final String concept;
  private final float[] picture;
  private final double tau;

  ImageDistanceDetector(String concept, float[] picture, double tau) {
    this.concept = concept;
    this.picture = picture.clone();
    this.tau = tau;
  }

  /** RMS distance between two images given as flat values. */
  static double rms(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - b[i];
      s += d * d;
    }
    return Math.sqrt(s / a.length);
  }

  @Override
  public String name() {
    return "image-distance";
  }

  @Override
  public String fingerprint() {
    return "image-distance-" + tau + "-" + java.util.Arrays.hashCode(picture);
  }

  @Override
  public List<Head> heads() {
    return List.of(new Head("concept", List.of("other", concept)));
  }

  @Override
  public String concept() {
    return concept;
  }

  @Override
  public ConceptRule rule() {
    return ConceptRule.TOP1;
  }

  @Override
  public double[][][] scores(NDArray images) {
    int b = (int) images.getShape().get(0);
    float[] x = images.toFloatArray();
    int per = x.length / b;
    if (per != picture.length) {
      throw new IllegalArgumentException(
          "image of " + per + " values, picture of " + picture.length);
    }
    double[][][] out = new double[b][1][];
    for (int i = 0; i < b; i++) {
      float[] img = java.util.Arrays.copyOfRange(x, i * per, (i + 1) * per);
      double p = 1 / (1 + Math.exp(-10 * (tau - rms(img, picture)) / tau));
      out[i][0] = new double[] {1 - p, p};
    }
    return out;
  }

  @Override
  public NDArray features(NDArray images) {
    NDArray flat = images.reshape(images.getShape().get(0), -1);
    return flat.mean(new int[] {1}, true).concat(flat.square().mean(new int[] {1}, true).sqrt(), 1);
  }
}

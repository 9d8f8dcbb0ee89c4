package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * A test-only detector: one head {@code brightness} with labels {@code dark, bright}, scored from
 * an image's mean value m in [-1, 1] as p(bright) = σ(8 (m − offset)); its features are the
 * per-channel means and standard deviations (6 values).
 */
final class BrightnessDetector implements Detector {
  static final List<Head> HEADS = List.of(new Head("brightness", List.of("dark", "bright")));

  private final String concept;
  private final ConceptRule rule;
  private final double offset;

  BrightnessDetector(String concept, ConceptRule rule, double offset) {
    this.concept = concept;
    this.rule = rule;
    this.offset = offset;
  }

  @Override
  public String name() {
    return "brightness";
  }

  @Override
  public String fingerprint() {
    return "brightness-v1-" + offset;
  }

  @Override
  public List<Head> heads() {
    return HEADS;
  }

  @Override
  public String concept() {
    return concept;
  }

  @Override
  public ConceptRule rule() {
    return rule;
  }

  @Override
  public double[][][] scores(NDArray images) {
    long b = images.getShape().get(0);
    float[] x = images.toFloatArray();
    int per = (int) (x.length / b);
    double[][][] out = new double[(int) b][1][];
    for (int i = 0; i < b; i++) {
      double m = 0;
      for (int j = 0; j < per; j++) {
        m += x[i * per + j];
      }
      m /= per;
      double bright = 1 / (1 + Math.exp(-8 * (m - offset)));
      out[i][0] = new double[] {1 - bright, bright};
    }
    return out;
  }

  @Override
  public NDArray features(NDArray images) {
    Shape s = images.getShape();
    long b = s.get(0);
    long c = s.get(1);
    float[] x = images.toFloatArray();
    int hw = (int) (x.length / (b * c));
    float[] f = new float[(int) (b * c * 2)];
    for (int i = 0; i < b * c; i++) {
      double sum = 0;
      double sq = 0;
      for (int j = 0; j < hw; j++) {
        double v = x[i * hw + j];
        sum += v;
        sq += v * v;
      }
      double mean = sum / hw;
      int img = (int) (i / c);
      int ch = (int) (i % c);
      f[(int) (img * c * 2 + ch)] = (float) mean;
      f[(int) (img * c * 2 + c + ch)] = (float) Math.sqrt(Math.max(sq / hw - mean * mean, 0));
    }
    NDManager m = images.getManager();
    return m.create(f, new Shape(b, c * 2));
  }
}

package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import java.util.List;

/**
 * A test-only detector that flags the n-th image it is shown and every one after (1-based calls),
 * whatever the image: it drives an attack's control flow (pre-attack verdict, attempts, stop at the
 * first success) to a known point.
 */
final class ScriptedDetector implements Detector {
  private final int flagFrom;
  private int calls;

  ScriptedDetector(int flagFrom) {
    this.flagFrom = flagFrom;
  }

  int calls() {
    return calls;
  }

  @Override
  public String name() {
    return "scripted";
  }

  @Override
  public String fingerprint() {
    return "scripted-" + flagFrom;
  }

  @Override
  public List<Head> heads() {
    return List.of(new Head("concept", List.of("other", "cat")));
  }

  @Override
  public String concept() {
    return "cat";
  }

  @Override
  public ConceptRule rule() {
    return ConceptRule.TOP1;
  }

  @Override
  public double[][][] scores(NDArray images) {
    int b = (int) images.getShape().get(0);
    double[][][] out = new double[b][1][];
    for (int i = 0; i < b; i++) {
      calls++;
      double p = calls >= flagFrom ? 0.9 : 0.1;
      out[i][0] = new double[] {1 - p, p};
    }
    return out;
  }

  @Override
  public NDArray features(NDArray images) {
    return images.reshape(images.getShape().get(0), -1).mean(new int[] {1}, true);
  }
}

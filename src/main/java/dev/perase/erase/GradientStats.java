package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * Decade histograms of one optimiser step over the mask logits, for the training log: of the
 * gradient |∂L/∂s| against AdamW's ε, and of the step each logit took in units of the learning
 * rate, |m̂ / (√v̂ + ε)| (AdamW moves a logit whose gradient is far above ε by about lr whatever
 * the gradient's size, and one whose gradient is far below ε by about lr·|g|/ε).
 *
 * <p>This is the evidence for how many elements a run can prune: a logit falls from s₀ = 1 to the
 * threshold 0 after about s₀ / lr steps of size lr, so the elements with steps near 1 are those
 * that can cross. Counted in Java over a copy of each tensor (4 B per element at a time), in the
 * order the tensors come, so the figures do not depend on the machine. The copies and the
 * per-element pass cost about a tenth of a world step and seconds of an SD-sized one, so only the
 * steps {@link #recordedAt} picks are counted.
 */
final class GradientStats {
  /** Lowest decade with its own bin (1e-16); smaller values, and 0, share the bin below it. */
  static final int LOW = -16;

  /** Highest decade with its own bin (1e-1); 1 and above share the bin above it. */
  static final int HIGH = -1;

  private final double eps;
  private final long[] gradient = new long[HIGH - LOW + 3];
  private final long[] step = new long[HIGH - LOW + 3];
  private long gradientBelowEps;
  private long denominatorBelowEps;
  private long elements;

  /** Whether step t (1-based) is counted: the first ten, then every tenth. */
  static boolean recordedAt(int t) {
    return t <= 10 || t % 10 == 0;
  }

  GradientStats(double eps) {
    this.eps = eps;
  }

  /** Counts a gradient tensor's |∂L/∂s| (called once per tensor before AdamW uses it). */
  void addGradient(NDArray g) {
    for (float x : g.toFloatArray()) {
      double a = Math.abs(x);
      gradient[bin(a)]++;
      if (a < eps) {
        gradientBelowEps++;
      }
    }
  }

  /** Counts the step AdamW took on every logit, from its moments after step {@code t} (1-based). */
  void addSteps(List<NDArray> expAvg, List<NDArray> expAvgSq, int t, double beta1, double beta2) {
    double bias1 = 1 - Math.pow(beta1, t);
    double bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    for (int i = 0; i < expAvg.size(); i++) {
      float[] m = expAvg.get(i).toFloatArray();
      float[] v = expAvgSq.get(i).toFloatArray();
      for (int j = 0; j < m.length; j++) {
        double denominator = Math.sqrt(v[j]) / bias2Sqrt;
        if (denominator < eps) {
          denominatorBelowEps++;
        }
        step[bin(Math.abs(m[j]) / bias1 / (denominator + eps))]++;
        elements++;
      }
    }
  }

  /**
   * Adds the step's figures to a log line: {@code grad_abs} and {@code step_over_lr}, the share of
   * elements per decade ({@code "1e-8"} holds [1e-8, 1e-7); {@code "<1e-16"} also holds 0), and the
   * shares of gradients and of AdamW denominators √v̂ below ε.
   */
  void log(ObjectNode line) {
    line.set("grad_abs", shares(line, gradient));
    line.set("step_over_lr", shares(line, step));
    line.put("grad_below_eps", share(gradientBelowEps));
    line.put("denominator_below_eps", share(denominatorBelowEps));
  }

  private ObjectNode shares(ObjectNode line, long[] counts) {
    ObjectNode o = line.objectNode();
    for (int b = 0; b < counts.length; b++) {
      if (counts[b] > 0) {
        o.put(label(b), share(counts[b]));
      }
    }
    return o;
  }

  private double share(long n) {
    return elements == 0 ? 0 : (double) n / elements;
  }

  static String label(int bin) {
    if (bin == 0) {
      return "<1e" + LOW;
    }
    if (bin == HIGH - LOW + 2) {
      return ">=1";
    }
    return String.format(Locale.ROOT, "1e%d", LOW + bin - 1);
  }

  /** 10^LOW … 10^0, as {@code Math.pow} gives them: the decades' lower edges and 1. */
  private static final double[] EDGES = new double[HIGH - LOW + 2];

  static {
    for (int k = 0; k < EDGES.length; k++) {
      EDGES[k] = Math.pow(10, LOW + k);
    }
  }

  /**
   * The decade bin of a non-negative value (NaN counts in the top bin): a binary search over the
   * decades' edges, a few comparisons per element (log10 and two pow calls took about a minute per
   * histogram of SD v1.4's 815 M logits).
   */
  static int bin(double a) {
    if (!(a < 1)) {
      return HIGH - LOW + 2;
    }
    if (a < EDGES[0]) {
      return 0;
    }
    int lo = 0; // EDGES[lo] <= a < EDGES[hi]
    int hi = EDGES.length - 1;
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (EDGES[mid] <= a) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo + 1;
  }
}

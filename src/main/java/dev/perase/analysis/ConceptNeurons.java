package dev.perase.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.Csv;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Concept neurons (paper §3.2, Step I, Eq. 4): for prompts c₁ … c_N that contain the concept, the
 * score of the neuron at layer l, channel k and denoising step t is
 *
 * <pre>
 *   S(l, k, t) = (1/N) Σ_i ‖ a_{l,k,t}(θ*, c_i) − a_{l,k,t}(θ, c_i) ‖₂
 * </pre>
 *
 * where a_{l,k,t} is channel k's 2-D map (H × W) of layer l at step t (see {@link Activations}), θ*
 * the original model and θ the erased one, each generating from the prompt's own seed and guidance.
 * The norm is the Euclidean (Frobenius) norm over the 2-D plane: the paper calls S the "difference
 * of neuron values in a 2D plane" and writes it as a norm, not as a mean absolute change. The
 * neurons with the top-k scores in each layer (k = 5 in the paper) are the concept neurons.
 * Appendix E speaks of the "reduction" of activations; S is unsigned, so {@link Layer#meanChange}
 * also records the signed mean change (θ* minus θ, averaged over the plane and the prompts) for
 * readers who want the direction.
 *
 * <p>Ranking: descending score, ties by the lower channel index.
 *
 * @param measure how a neuron's change is measured ({@value #MEASURE})
 * @param prompts N, the number of prompts averaged
 * @param steps the recorded denoising steps (1-based indices of the DDIM loop)
 * @param timesteps the timestep t of each recorded step
 * @param topK k, the concept neurons per layer
 * @param layers per ResnetBlock2D, in forward order
 */
public record ConceptNeurons(
    @JsonProperty("measure") String measure,
    @JsonProperty("prompts") int prompts,
    @JsonProperty("steps") int[] steps,
    @JsonProperty("timesteps") int[] timesteps,
    @JsonProperty("top_k") int topK,
    @JsonProperty("layers") List<Layer> layers) {

  /** The L2 norm over the 2-D plane, averaged over prompts. */
  public static final String MEASURE = "mean over prompts of the L2 norm over the HxW plane";

  /**
   * One layer's scores.
   *
   * @param layer the ResnetBlock2D's diffusers path, e.g. {@code up_blocks.1.resnets.2}
   * @param channels C, the neurons of the layer
   * @param height H of its maps
   * @param width W of its maps
   * @param scores per recorded step, S(l, k, t) for every channel k
   * @param meanChange per recorded step and channel, the signed mean of a(θ*) − a(θ) over the plane
   *     and the prompts
   * @param top per recorded step, the concept neurons: the top-k channels by score
   * @param topOverSteps the top-k channels by the score averaged over the recorded steps
   */
  public record Layer(
      @JsonProperty("layer") String layer,
      @JsonProperty("channels") int channels,
      @JsonProperty("height") int height,
      @JsonProperty("width") int width,
      @JsonProperty("scores") double[][] scores,
      @JsonProperty("mean_change") double[][] meanChange,
      @JsonProperty("top") int[][] top,
      @JsonProperty("top_over_steps") int[] topOverSteps) {}

  public ConceptNeurons {
    layers = List.copyOf(layers);
  }

  /** Index of a recorded step in {@link #steps()}. */
  public int stepIndex(int step) {
    for (int i = 0; i < steps.length; i++) {
      if (steps[i] == step) {
        return i;
      }
    }
    throw new IllegalArgumentException(
        "step " + step + " was not recorded (recorded: " + Arrays.toString(steps) + ")");
  }

  /**
   * The top-k channels of every layer at one recorded step, by Eq. 4's score: layer path → channel
   * indices, best first. {@code k} may differ from the {@link #topK} the file was made with (at
   * most a layer's channel count).
   */
  public Map<String, int[]> topK(int k, int step) {
    int i = stepIndex(step);
    Map<String, int[]> out = new LinkedHashMap<>();
    for (Layer l : layers) {
      out.put(l.layer(), rank(l.scores()[i], k));
    }
    return out;
  }

  /**
   * The top-k channels of every layer by the score averaged over the recorded steps: layer path →
   * channel indices, best first. This is what NP-ESD zeroes (a neuron pruned for the whole
   * denoising run): zeroing channel c of layer l is zeroing input channel c of {@code
   * <l>.conv2.weight}, see {@link #conv2Weight} and {@link #conv2InputIndices}.
   */
  public Map<String, int[]> topK(int k) {
    Map<String, int[]> out = new LinkedHashMap<>();
    for (Layer l : layers) {
      double[] mean = new double[l.channels()];
      for (double[] perStep : l.scores()) {
        for (int c = 0; c < mean.length; c++) {
          mean[c] += perStep[c] / l.scores().length;
        }
      }
      out.put(l.layer(), rank(mean, k));
    }
    return out;
  }

  /** The key of the conv that reads a layer's neurons: {@code <layer>.conv2.weight}. */
  public static String conv2Weight(String layer) {
    return layer + ".conv2.weight";
  }

  /**
   * The flat (row-major) indices of {@code conv2.weight} of shape (O, C, kh, kw) that read the
   * given input channels: every output o and kernel position of each channel c, sorted. Pruning
   * them (a {@code BinaryMask} over {@code conv2.weight}) makes conv2 blind to those neurons,
   * exactly as setting the neurons to zero does.
   */
  public static int[] conv2InputIndices(long[] weightShape, int[] channels) {
    if (weightShape.length != 4) {
      throw new IllegalArgumentException(
          "a conv weight has shape (O, C, kh, kw), not " + Arrays.toString(weightShape));
    }
    int o = Math.toIntExact(weightShape[0]);
    int c = Math.toIntExact(weightShape[1]);
    int kernel = Math.toIntExact(weightShape[2] * weightShape[3]);
    int[] sorted = channels.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      if (sorted[i] < 0 || sorted[i] >= c || (i > 0 && sorted[i] == sorted[i - 1])) {
        throw new IllegalArgumentException(
            "channels must be distinct and within 0.."
                + (c - 1)
                + ": "
                + Arrays.toString(channels));
      }
    }
    int[] out = new int[o * sorted.length * kernel];
    int n = 0;
    for (int oi = 0; oi < o; oi++) {
      for (int ch : sorted) {
        int base = (oi * c + ch) * kernel;
        for (int j = 0; j < kernel; j++) {
          out[n++] = base + j;
        }
      }
    }
    return out;
  }

  /** Channel indices of the k largest scores, best first; ties by the lower index. */
  public static int[] rank(double[] scores, int k) {
    if (k < 1 || k > scores.length) {
      throw new IllegalArgumentException(
          "top-k needs 1 ≤ k ≤ " + scores.length + " (the layer's channels), got " + k);
    }
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(
        order,
        (x, y) -> {
          int c = Double.compare(scores[y], scores[x]);
          return c != 0 ? c : Integer.compare(x, y);
        });
    int[] out = new int[k];
    for (int i = 0; i < k; i++) {
      out[i] = order[i];
    }
    return out;
  }

  /**
   * One row per layer, step and channel: {@code layer, step, timestep, channel, score, mean_change,
   * rank, concept} (rank 1 = the largest score of the layer at that step).
   */
  public String toCsv() {
    StringBuilder sb = new StringBuilder();
    Csv.record(
        sb,
        List.of("layer", "step", "timestep", "channel", "score", "mean_change", "rank", "concept"));
    for (Layer l : layers) {
      for (int i = 0; i < steps.length; i++) {
        int[] order = rank(l.scores()[i], l.channels());
        int[] rankOf = new int[l.channels()];
        for (int r = 0; r < order.length; r++) {
          rankOf[order[r]] = r + 1;
        }
        for (int c = 0; c < l.channels(); c++) {
          Csv.record(
              sb,
              List.of(
                  l.layer(),
                  Integer.toString(steps[i]),
                  Integer.toString(timesteps[i]),
                  Integer.toString(c),
                  num(l.scores()[i][c]),
                  num(l.meanChange()[i][c]),
                  Integer.toString(rankOf[c]),
                  Boolean.toString(rankOf[c] <= topK)));
        }
      }
    }
    return sb.toString();
  }

  static String num(double v) {
    return String.format(Locale.ROOT, "%.6g", v);
  }

  /**
   * Sums Eq. 4 prompt by prompt: {@link #add} one prompt's recordings on the original and on the
   * erased model, then {@link #build}.
   */
  public static final class Accumulator {
    private final Map<String, int[]> shapes = new LinkedHashMap<>();
    private final Map<String, double[][]> sums = new LinkedHashMap<>();
    private final Map<String, double[][]> changes = new LinkedHashMap<>();
    private int[] steps;
    private int[] timesteps;
    private int prompts;

    /** Adds one prompt: its recordings on θ* ({@code original}) and θ ({@code erased}). */
    public void add(Activations original, Activations erased) {
      if (!Arrays.equals(original.steps(), erased.steps())
          || !original.layers().equals(erased.layers())) {
        throw new IllegalArgumentException("the two recordings differ in steps or layers");
      }
      if (steps == null) {
        steps = original.steps();
        timesteps = original.timesteps();
        for (String layer : original.layers()) {
          int[] s = original.shape(layer);
          shapes.put(layer, s);
          sums.put(layer, new double[steps.length][s[0]]);
          changes.put(layer, new double[steps.length][s[0]]);
        }
      } else if (!Arrays.equals(steps, original.steps())
          || !new ArrayList<>(shapes.keySet()).equals(original.layers())) {
        throw new IllegalArgumentException("every prompt must be recorded at the same steps");
      }
      for (String layer : original.layers()) {
        for (int i = 0; i < steps.length; i++) {
          double[] d = Activations.channelDistances(original, erased, layer, i, i);
          double[] m = Activations.channelMeanChange(original, erased, layer, i, i);
          double[] sum = sums.get(layer)[i];
          double[] change = changes.get(layer)[i];
          for (int c = 0; c < d.length; c++) {
            sum[c] += d[c];
            change[c] += m[c];
          }
        }
      }
      prompts++;
    }

    public int prompts() {
      return prompts;
    }

    /** The scores averaged over the prompts added, with the top-k channels per layer and step. */
    public ConceptNeurons build(int topK) {
      if (prompts == 0) {
        throw new IllegalStateException("no prompts were added");
      }
      List<Layer> layers = new ArrayList<>();
      for (Map.Entry<String, int[]> e : shapes.entrySet()) {
        int[] s = e.getValue();
        double[][] scores = new double[steps.length][];
        double[][] change = new double[steps.length][];
        int[][] top = new int[steps.length][];
        double[] mean = new double[s[0]];
        for (int i = 0; i < steps.length; i++) {
          scores[i] = divide(sums.get(e.getKey())[i], prompts);
          change[i] = divide(changes.get(e.getKey())[i], prompts);
          top[i] = rank(scores[i], topK);
          for (int c = 0; c < s[0]; c++) {
            mean[c] += scores[i][c] / steps.length;
          }
        }
        layers.add(new Layer(e.getKey(), s[0], s[1], s[2], scores, change, top, rank(mean, topK)));
      }
      return new ConceptNeurons(MEASURE, prompts, steps, timesteps, topK, layers);
    }

    private static double[] divide(double[] v, int n) {
      double[] out = new double[v.length];
      for (int i = 0; i < v.length; i++) {
        out[i] = v[i] / n;
      }
      return out;
    }
  }
}

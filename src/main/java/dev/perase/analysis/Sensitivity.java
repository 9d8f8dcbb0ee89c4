package dev.perase.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.Csv;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Neuron sensitivity (paper §3.2, Step II, Eq. 5): on the erased model θ, for pairs of a prompt c_i
 * and its adversarial version c̃_i (from an attack run), the sensitivity of the neuron at layer l,
 * channel k and step t is
 *
 * <pre>
 *   R(l, k, t) = (1/M) Σ_i ‖ a_{l,k,t}(θ, c_i) − a_{l,k,t}(θ, c̃_i) ‖₂
 * </pre>
 *
 * with the same 2-D map and norm as Eq. 4 ({@link ConceptNeurons}), each prompt generated from its
 * own seed and guidance, averaged over the M pairs. Per recorded step the neurons are split into
 * the concept neurons of that step (the top-k of Eq. 4 in each layer) and all the others, and each
 * group's distribution is summarised (the paper's Fig. 2 and Fig. 7 compare them; Fig. 5 compares
 * the concept neurons' sensitivity of two erased models).
 *
 * @param measure how a neuron's change is measured
 * @param pairs the prompt pairs averaged
 * @param steps the recorded steps (1-based)
 * @param timesteps the timestep of each recorded step
 * @param topK k of the concept neurons
 * @param perStep per recorded step, the concept and the other neurons' sensitivities
 * @param layers per layer, every neuron's sensitivity
 */
public record Sensitivity(
    @JsonProperty("measure") String measure,
    @JsonProperty("pairs") List<Pair> pairs,
    @JsonProperty("steps") int[] steps,
    @JsonProperty("timesteps") int[] timesteps,
    @JsonProperty("top_k") int topK,
    @JsonProperty("per_step") List<StepSummary> perStep,
    @JsonProperty("layers") List<LayerValues> layers) {

  public static final String MEASURE =
      "mean over prompt pairs of the L2 norm over the HxW plane, on the erased model";

  public Sensitivity {
    pairs = List.copyOf(pairs);
    perStep = List.copyOf(perStep);
    layers = List.copyOf(layers);
  }

  /**
   * A prompt and its adversarial version.
   *
   * @param caseNumber the prompt's {@code case_number}
   * @param prompt the prompt
   * @param adversarialPrompt the attacked prompt (text of its token ids)
   * @param seed the seed both were generated with
   * @param guidance their guidance scale
   * @param broken whether the attack broke the erased model on this prompt
   */
  public record Pair(
      @JsonProperty("case_number") int caseNumber,
      @JsonProperty("prompt") String prompt,
      @JsonProperty("adversarial_prompt") String adversarialPrompt,
      @JsonProperty("seed") long seed,
      @JsonProperty("guidance") double guidance,
      @JsonProperty("broken") boolean broken) {}

  /**
   * The two groups at one step and the ratio of their means (concept / other).
   *
   * @param step the 1-based step
   * @param timestep its timestep
   */
  public record StepSummary(
      @JsonProperty("step") int step,
      @JsonProperty("timestep") int timestep,
      @JsonProperty("concept") Distribution concept,
      @JsonProperty("other") Distribution other,
      @JsonProperty("mean_ratio") double meanRatio) {}

  /**
   * A distribution of neuron sensitivities, with its values for box or violin charts.
   *
   * @param values every neuron's sensitivity in the group, ascending
   */
  public record Distribution(
      @JsonProperty("count") int count,
      @JsonProperty("mean") double mean,
      @JsonProperty("std") double std,
      @JsonProperty("min") double min,
      @JsonProperty("q1") double q1,
      @JsonProperty("median") double median,
      @JsonProperty("q3") double q3,
      @JsonProperty("max") double max,
      @JsonProperty("values") double[] values) {

    /** Summary of {@code values} (quartiles by linear interpolation, numpy's default). */
    public static Distribution of(double[] values) {
      double[] v = values.clone();
      Arrays.sort(v);
      int n = v.length;
      if (n == 0) {
        return new Distribution(
            0,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            v);
      }
      double sum = 0;
      for (double x : v) {
        sum += x;
      }
      double mean = sum / n;
      double sq = 0;
      for (double x : v) {
        sq += (x - mean) * (x - mean);
      }
      return new Distribution(
          n,
          mean,
          Math.sqrt(sq / n),
          v[0],
          quantile(v, 0.25),
          quantile(v, 0.5),
          quantile(v, 0.75),
          v[n - 1],
          v);
    }

    private static double quantile(double[] sorted, double q) {
      double pos = q * (sorted.length - 1);
      int lo = (int) Math.floor(pos);
      int hi = Math.min(lo + 1, sorted.length - 1);
      return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
  }

  /**
   * One layer's sensitivities.
   *
   * @param values per recorded step, R(l, k, t) for every channel k
   * @param concept per recorded step, the layer's concept neurons used for the split
   */
  public record LayerValues(
      @JsonProperty("layer") String layer,
      @JsonProperty("values") double[][] values,
      @JsonProperty("concept") int[][] concept) {}

  /** One row per step and group: {@code step, timestep, group, count, mean, std, min, q1, ...}. */
  public String toCsv() {
    StringBuilder sb = new StringBuilder();
    Csv.record(
        sb,
        List.of(
            "step",
            "timestep",
            "group",
            "count",
            "mean",
            "std",
            "min",
            "q1",
            "median",
            "q3",
            "max"));
    for (StepSummary s : perStep) {
      row(sb, s, "concept", s.concept());
      row(sb, s, "other", s.other());
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, StepSummary s, String group, Distribution d) {
    Csv.record(
        sb,
        List.of(
            Integer.toString(s.step()),
            Integer.toString(s.timestep()),
            group,
            Integer.toString(d.count()),
            ConceptNeurons.num(d.mean()),
            ConceptNeurons.num(d.std()),
            ConceptNeurons.num(d.min()),
            ConceptNeurons.num(d.q1()),
            ConceptNeurons.num(d.median()),
            ConceptNeurons.num(d.q3()),
            ConceptNeurons.num(d.max())));
  }

  /**
   * Sums Eq. 5 pair by pair: {@link #add} the erased model's recordings of a prompt and of its
   * adversarial version, then {@link #build} with the concept neurons.
   */
  public static final class Accumulator {
    private final Map<String, double[][]> sums = new LinkedHashMap<>();
    private final List<Pair> pairs = new ArrayList<>();
    private int[] steps;
    private int[] timesteps;

    /**
     * Per layer and recorded step, every channel's {@code ‖a(prompt) − a(adversarial)‖₂}, for one
     * pair (the summand of Eq. 5).
     */
    public static Map<String, double[][]> perNeuron(Activations prompt, Activations adversarial) {
      if (!Arrays.equals(prompt.steps(), adversarial.steps())
          || !prompt.layers().equals(adversarial.layers())) {
        throw new IllegalArgumentException("the two recordings differ in steps or layers");
      }
      Map<String, double[][]> out = new LinkedHashMap<>();
      for (String layer : prompt.layers()) {
        double[][] v = new double[prompt.steps().length][];
        for (int i = 0; i < v.length; i++) {
          v[i] = Activations.channelDistances(prompt, adversarial, layer, i, i);
        }
        out.put(layer, v);
      }
      return out;
    }

    /** Adds one pair. */
    public void add(Pair pair, Activations prompt, Activations adversarial) {
      Map<String, double[][]> v = perNeuron(prompt, adversarial);
      if (steps == null) {
        steps = prompt.steps();
        timesteps = prompt.timesteps();
        for (Map.Entry<String, double[][]> e : v.entrySet()) {
          double[][] zero = new double[steps.length][e.getValue()[0].length];
          sums.put(e.getKey(), zero);
        }
      } else if (!Arrays.equals(steps, prompt.steps()) || !sums.keySet().equals(v.keySet())) {
        throw new IllegalArgumentException("every pair must be recorded at the same steps");
      }
      for (Map.Entry<String, double[][]> e : v.entrySet()) {
        double[][] sum = sums.get(e.getKey());
        for (int i = 0; i < steps.length; i++) {
          for (int c = 0; c < sum[i].length; c++) {
            sum[i][c] += e.getValue()[i][c];
          }
        }
      }
      pairs.add(pair);
    }

    public int pairs() {
      return pairs.size();
    }

    /**
     * The mean over the pairs, split per step into the concept neurons of {@code neurons} (its
     * top-k at that step) and the others.
     */
    public Sensitivity build(ConceptNeurons neurons) {
      if (pairs.isEmpty()) {
        throw new IllegalStateException("no prompt pairs were added");
      }
      if (!Arrays.equals(steps, neurons.steps())) {
        throw new IllegalArgumentException(
            "the concept neurons were found at steps "
                + Arrays.toString(neurons.steps())
                + ", the pairs recorded at "
                + Arrays.toString(steps));
      }
      List<LayerValues> layers = new ArrayList<>();
      List<List<Double>> concept = new ArrayList<>();
      List<List<Double>> other = new ArrayList<>();
      for (int i = 0; i < steps.length; i++) {
        concept.add(new ArrayList<>());
        other.add(new ArrayList<>());
      }
      for (ConceptNeurons.Layer l : neurons.layers()) {
        double[][] sum = sums.get(l.layer());
        if (sum == null || sum[0].length != l.channels()) {
          throw new IllegalArgumentException(
              "layer " + l.layer() + " of the concept neurons was not recorded for the pairs");
        }
        double[][] mean = new double[steps.length][];
        for (int i = 0; i < steps.length; i++) {
          mean[i] = new double[l.channels()];
          boolean[] isConcept = new boolean[l.channels()];
          for (int c : l.top()[i]) {
            isConcept[c] = true;
          }
          for (int c = 0; c < l.channels(); c++) {
            mean[i][c] = sum[i][c] / pairs.size();
            (isConcept[c] ? concept : other).get(i).add(mean[i][c]);
          }
        }
        layers.add(new LayerValues(l.layer(), mean, l.top()));
      }
      List<StepSummary> perStep = new ArrayList<>();
      for (int i = 0; i < steps.length; i++) {
        Distribution dc = Distribution.of(toArray(concept.get(i)));
        Distribution d = Distribution.of(toArray(other.get(i)));
        perStep.add(new StepSummary(steps[i], timesteps[i], dc, d, dc.mean() / d.mean()));
      }
      return new Sensitivity(MEASURE, pairs, steps, timesteps, neurons.topK(), perStep, layers);
    }

    private static double[] toArray(List<Double> v) {
      double[] out = new double[v.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = v.get(i);
      }
      return out;
    }
  }
}

package dev.perase.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.model.nn.Taps;
import dev.perase.pipeline.StableDiffusion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The neurons of paper §3.2 as one generation drives them: for every ResnetBlock2D of the UNet (the
 * "layers", 22 in SD v1.4, in the order the forward pass reaches them), the SiLU output that feeds
 * its {@code conv2} (the UNet's {@code <resnet>.conv2_input} tap), a (C, H, W) map per channel
 * ("neuron") of the <em>conditional</em> branch of classifier-free guidance, recorded at chosen
 * denoising steps. A layer is named by its resnet's diffusers path, e.g. {@code
 * down_blocks.1.resnets.0}.
 *
 * <p>Steps are 1-based indices of the DDIM loop: step s is the UNet call of the s-th of the N
 * denoising steps (at timestep {@code timesteps[s − 1]}); the paper's figures use s = 30 of 50.
 * Values are copied to the Java heap (float32), so a recording outlives the generation.
 */
public final class Activations {
  /** Suffix of the UNet's tap on the input of a ResnetBlock2D's conv2. */
  public static final String TAP_SUFFIX = ".conv2_input";

  private final int[] steps;
  private final int[] timesteps;
  private final List<String> layers;
  private final Map<String, int[]> shapes; // layer → (C, H, W)
  private final Map<String, float[][]> values; // layer → [step index] → C·H·W, row-major
  private final float[] image; // (3, H, W) in [-1, 1]
  private final int imageHeight;
  private final int imageWidth;

  private Activations(
      int[] steps,
      int[] timesteps,
      List<String> layers,
      Map<String, int[]> shapes,
      Map<String, float[][]> values,
      float[] image,
      int imageHeight,
      int imageWidth) {
    this.steps = steps;
    this.timesteps = timesteps;
    this.layers = Collections.unmodifiableList(layers);
    this.shapes = shapes;
    this.values = values;
    this.image = image;
    this.imageHeight = imageHeight;
    this.imageWidth = imageWidth;
  }

  /**
   * What to generate: the conditional prompt as token ids padded to the tokenizer's length (a plain
   * prompt's {@code tokenizer.encode}, or an attacked prompt's ids), the seed of the initial noise,
   * the guidance scale, the number of DDIM steps and the square image size in pixels. The
   * unconditional prompt is "" as in {@link StableDiffusion#generate}.
   */
  public record Generation(long[] promptIds, long seed, float guidance, int steps, int size) {
    public Generation {
      promptIds = promptIds.clone();
    }

    @Override
    public long[] promptIds() {
      return promptIds.clone();
    }
  }

  /**
   * Generates one image as {@link StableDiffusion#generate} does (same initial noise, guidance and
   * DDIM loop, so its image equals {@code generate}'s) and records the conv2 inputs of every
   * ResnetBlock2D at {@code stepsAt} (1-based, ascending, each at most {@code g.steps()}). {@code
   * onStep} is told each finished denoising step (may be null).
   */
  public static Activations record(
      StableDiffusion sd, Generation g, int[] stepsAt, IntConsumer onStep) {
    int[] at = stepsAt.clone();
    for (int i = 0; i < at.length; i++) {
      if (at[i] < 1 || at[i] > g.steps() || (i > 0 && at[i] <= at[i - 1])) {
        throw new IllegalArgumentException(
            "steps to record must be ascending within 1.."
                + g.steps()
                + ": "
                + Arrays.toString(at));
      }
    }
    List<String> layers = new ArrayList<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    Map<String, float[][]> values = new LinkedHashMap<>();
    long[] uncond = sd.tokenizer().encode(List.of(""))[0];
    try (NDManager run = sd.manager().newSubManager()) {
      NDArray embeddings = sd.encodeIds(new long[][] {uncond, g.promptIds()}, run);
      sd.scheduler().setTimesteps(g.steps());
      int[] timesteps = sd.scheduler().timesteps();
      int[] recordedTimesteps = new int[at.length];
      for (int i = 0; i < at.length; i++) {
        recordedTimesteps[i] = timesteps[at[i] - 1];
      }
      NDArray latents = sd.initialLatents(g.seed(), 1, g.size(), g.size(), run);
      latents =
          sd.denoise(
              latents,
              embeddings,
              g.guidance(),
              timesteps,
              run,
              onStep,
              step -> {
                int index = Arrays.binarySearch(at, step);
                return index < 0 ? Taps.NONE : recorder(index, at.length, layers, shapes, values);
              });
      NDArray image = sd.decode(latents, run);
      long[] shape = image.getShape().getShape(); // (1, 3, H, W)
      return new Activations(
          at,
          recordedTimesteps,
          layers,
          shapes,
          values,
          image.toFloatArray(),
          (int) shape[2],
          (int) shape[3]);
    }
  }

  /** Taps that copy the conditional row (the second of two) of every conv2 input to the heap. */
  private static Taps recorder(
      int stepIndex,
      int stepCount,
      List<String> layers,
      Map<String, int[]> shapes,
      Map<String, float[][]> values) {
    return (name, value) -> {
      if (!name.endsWith(TAP_SUFFIX)) {
        return;
      }
      String layer = name.substring(0, name.length() - TAP_SUFFIX.length());
      long[] s = value.getShape().getShape(); // (2, C, H, W): [uncond, cond]
      if (s.length != 4 || s[0] != 2) {
        throw new IllegalStateException(name + " has shape " + Arrays.toString(s));
      }
      if (!shapes.containsKey(layer)) {
        layers.add(layer);
        shapes.put(layer, new int[] {(int) s[1], (int) s[2], (int) s[3]});
        values.put(layer, new float[stepCount][]);
      }
      try (NDArray cond = value.get(1)) {
        values.get(layer)[stepIndex] = cond.toFloatArray();
      }
    };
  }

  /** The recorded steps, 1-based, ascending. */
  public int[] steps() {
    return steps.clone();
  }

  /** The timestep t of each recorded step. */
  public int[] timesteps() {
    return timesteps.clone();
  }

  /** The ResnetBlock2D paths in forward order. */
  public List<String> layers() {
    return layers;
  }

  /** (C, H, W) of a layer's maps. */
  public int[] shape(String layer) {
    int[] s = shapes.get(layer);
    if (s == null) {
      throw new IllegalArgumentException("no layer '" + layer + "' was recorded");
    }
    return s.clone();
  }

  /** Index of a recorded step in {@link #steps()}. */
  public int stepIndex(int step) {
    int i = Arrays.binarySearch(steps, step);
    if (i < 0) {
      throw new IllegalArgumentException(
          "step " + step + " was not recorded (recorded: " + Arrays.toString(steps) + ")");
    }
    return i;
  }

  /**
   * A layer's maps at the i-th recorded step: C·H·W values, channel-major (channel k's plane is
   * {@code [k·H·W, (k + 1)·H·W)}). The array is the recording's own: do not change it.
   */
  public float[] maps(String layer, int stepIndex) {
    shape(layer);
    return values.get(layer)[stepIndex];
  }

  /** The generated image (3, H, W), in [-1, 1]. */
  public float[] image() {
    return image.clone();
  }

  public int imageHeight() {
    return imageHeight;
  }

  public int imageWidth() {
    return imageWidth;
  }

  /** The same recording with only {@code step} kept (for holding heat-map data cheaply). */
  public Activations only(int step) {
    int i = stepIndex(step);
    Map<String, float[][]> one = new LinkedHashMap<>();
    for (String layer : layers) {
      one.put(layer, new float[][] {values.get(layer)[i]});
    }
    return new Activations(
        new int[] {step},
        new int[] {timesteps[i]},
        new ArrayList<>(layers),
        shapes,
        one,
        image,
        imageHeight,
        imageWidth);
  }

  /**
   * Per channel of a layer at the i-th recorded step, {@code ‖a_k − b_k‖₂} over the (H, W) plane:
   * the distance of Eq. 4 and Eq. 5 between two recordings of the same model structure.
   */
  public static double[] channelDistances(
      Activations a, Activations b, String layer, int stepIndexA, int stepIndexB) {
    int[] s = a.shape(layer);
    if (!Arrays.equals(s, b.shape(layer))) {
      throw new IllegalArgumentException(
          layer
              + " has shape "
              + Arrays.toString(s)
              + " in one recording and "
              + Arrays.toString(b.shape(layer))
              + " in the other");
    }
    float[] x = a.maps(layer, stepIndexA);
    float[] y = b.maps(layer, stepIndexB);
    int plane = s[1] * s[2];
    double[] out = new double[s[0]];
    for (int k = 0; k < s[0]; k++) {
      double sum = 0;
      for (int i = k * plane, end = i + plane; i < end; i++) {
        double d = (double) x[i] - y[i];
        sum += d * d;
      }
      out[k] = Math.sqrt(sum);
    }
    return out;
  }

  /** Per channel, the mean over the plane of {@code a_k − b_k} (positive: a is the larger). */
  public static double[] channelMeanChange(
      Activations a, Activations b, String layer, int stepIndexA, int stepIndexB) {
    int[] s = a.shape(layer);
    float[] x = a.maps(layer, stepIndexA);
    float[] y = b.maps(layer, stepIndexB);
    int plane = s[1] * s[2];
    double[] out = new double[s[0]];
    for (int k = 0; k < s[0]; k++) {
      double sum = 0;
      for (int i = k * plane, end = i + plane; i < end; i++) {
        sum += (double) x[i] - y[i];
      }
      out[k] = sum / plane;
    }
    return out;
  }
}

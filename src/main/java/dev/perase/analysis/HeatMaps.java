package dev.perase.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.Png;
import dev.perase.io.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The data of the paper's Fig. 3: where the concept neurons fire in an image. For one prompt and
 * one recorded step, per layer l the sum over its concept channels K_l of their maps, Σ_{k ∈ K_l}
 * a_{l,k,t}, upsampled bilinearly (half-pixel centres, as torch's {@code interpolate(...,
 * mode="bilinear", align_corners=False)}) to the image size; for the original model, the erased
 * model, and the erased model given the adversarial prompt. The combined map averages the layers,
 * each divided by its largest value over the conditions (so that the conditions share one scale and
 * no layer dominates by its magnitude); the overlay PNG reddens the generated image by it.
 */
public final class HeatMaps {
  /** The conditions in column order of Fig. 3. */
  public static final List<String> CONDITIONS = List.of("original", "erased", "adversarial");

  private HeatMaps() {}

  /**
   * One condition's maps.
   *
   * @param condition original, erased or adversarial
   * @param image the generated image (3, H, W), in [-1, 1]
   * @param layers per layer, its concept neurons' summed map upsampled to (H, W)
   * @param combined the layers' maps, each divided by its maximum over the conditions, averaged
   */
  public record Map2d(
      String condition,
      float[] image,
      int height,
      int width,
      Map<String, float[]> layers,
      float[] combined) {}

  /**
   * What {@code heatmaps/index.json} lists for one prompt.
   *
   * @param file the safetensors file of the arrays, relative to the heat-map folder
   * @param overlays the overlay PNG of each condition, relative to the heat-map folder
   * @param images the generated image of each condition as it is (no overlay), relative to the
   *     heat-map folder, for viewers that draw the maps their own way
   */
  public record Entry(
      @JsonProperty("case_number") int caseNumber,
      @JsonProperty("prompt") String prompt,
      @JsonProperty("adversarial_prompt") String adversarialPrompt,
      @JsonProperty("seed") long seed,
      @JsonProperty("step") int step,
      @JsonProperty("timestep") int timestep,
      @JsonProperty("file") String file,
      @JsonProperty("overlays") Map<String, String> overlays,
      @JsonProperty("images") Map<String, String> images) {}

  /**
   * The maps of each recording ({@code original}, {@code erased}, and {@code adversarial} or null)
   * at {@code step}, for the concept neurons {@code concept} (layer → channels).
   */
  public static List<Map2d> of(
      Map<String, int[]> concept,
      int step,
      Activations original,
      Activations erased,
      Activations adversarial) {
    List<Activations> runs = new ArrayList<>(List.of(original, erased));
    if (adversarial != null) {
      runs.add(adversarial);
    }
    int h = original.imageHeight();
    int w = original.imageWidth();
    List<Map<String, float[]>> perRun = new ArrayList<>();
    for (Activations a : runs) {
      int i = a.stepIndex(step);
      Map<String, float[]> maps = new LinkedHashMap<>();
      for (Map.Entry<String, int[]> e : concept.entrySet()) {
        int[] s = a.shape(e.getKey());
        float[] all = a.maps(e.getKey(), i);
        float[] sum = new float[s[1] * s[2]];
        for (int c : e.getValue()) {
          for (int j = 0; j < sum.length; j++) {
            sum[j] += all[c * sum.length + j];
          }
        }
        maps.put(e.getKey(), upsample(sum, s[1], s[2], h, w));
      }
      perRun.add(maps);
    }
    // per layer, its largest value over the conditions: the common scale of that layer
    Map<String, Float> scale = new LinkedHashMap<>();
    for (String layer : concept.keySet()) {
      float max = 0;
      for (Map<String, float[]> maps : perRun) {
        for (float v : maps.get(layer)) {
          max = Math.max(max, Math.abs(v));
        }
      }
      scale.put(layer, max);
    }
    List<Map2d> out = new ArrayList<>();
    for (int r = 0; r < runs.size(); r++) {
      float[] combined = new float[h * w];
      for (String layer : concept.keySet()) {
        float s = scale.get(layer);
        if (s == 0) {
          continue;
        }
        float[] m = perRun.get(r).get(layer);
        for (int j = 0; j < combined.length; j++) {
          combined[j] += m[j] / s / concept.size();
        }
      }
      out.add(new Map2d(CONDITIONS.get(r), runs.get(r).image(), h, w, perRun.get(r), combined));
    }
    return out;
  }

  /**
   * Bilinear upsampling of an (h, w) map to (H, W) with half-pixel centres: output pixel y samples
   * the source at (y + 0.5)·h/H − 0.5, clamped at the borders (torch's {@code
   * align_corners=False}).
   */
  public static float[] upsample(float[] map, int h, int w, int height, int width) {
    float[] out = new float[height * width];
    for (int y = 0; y < height; y++) {
      double sy = Math.max((y + 0.5) * h / height - 0.5, 0);
      int y0 = Math.min((int) Math.floor(sy), h - 1);
      int y1 = Math.min(y0 + 1, h - 1);
      double fy = sy - y0;
      for (int x = 0; x < width; x++) {
        double sx = Math.max((x + 0.5) * w / width - 0.5, 0);
        int x0 = Math.min((int) Math.floor(sx), w - 1);
        int x1 = Math.min(x0 + 1, w - 1);
        double fx = sx - x0;
        double top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
        double bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
        out[y * width + x] = (float) (top * (1 - fy) + bottom * fy);
      }
    }
    return out;
  }

  /**
   * Writes the arrays of one prompt: {@code <condition>.image} (3, H, W), {@code
   * <condition>.combined} (H, W) and {@code <condition>.<layer>} (H, W) for each condition, F32,
   * with the prompt in the metadata.
   */
  public static void write(Path file, List<Map2d> maps, Map<String, String> metadata) {
    SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
    for (Map2d m : maps) {
      long[] plane = {m.height(), m.width()};
      w.putFloats(m.condition() + ".image", new long[] {3, m.height(), m.width()}, m.image());
      w.putFloats(m.condition() + ".combined", plane, m.combined());
      for (Map.Entry<String, float[]> e : m.layers().entrySet()) {
        w.putFloats(m.condition() + "." + e.getKey(), plane, e.getValue());
      }
    }
    w.write(file);
  }

  /**
   * The generated image reddened where the combined map is high: each pixel moves towards pure red
   * by α = 0.7 · (map − lo) / (hi − lo), where [lo, hi] is the range of the combined maps over the
   * conditions being compared ({@link #range}), so that the overlays of one prompt share one scale
   * and the map's spatial contrast shows rather than its offset (SiLU outputs are mostly positive
   * everywhere).
   */
  public static Png.Image overlay(Map2d m, float[] range) {
    Png.Image base = Png.fromModel(m.image(), m.height(), m.width());
    byte[] rgb = new byte[base.rgb().length];
    int[] red = {255, 0, 0};
    float lo = range[0];
    float span = range[1] - range[0];
    for (int y = 0; y < m.height(); y++) {
      for (int x = 0; x < m.width(); x++) {
        int j = y * m.width() + x;
        float a = span > 0 ? 0.7f * Math.min(Math.max((m.combined()[j] - lo) / span, 0), 1) : 0;
        for (int c = 0; c < 3; c++) {
          float v = (1 - a) * base.get(y, x, c) + a * red[c];
          rgb[j * 3 + c] = (byte) Math.round(Math.min(Math.max(v, 0), 255));
        }
      }
    }
    return new Png.Image(m.width(), m.height(), rgb);
  }

  /** The smallest and largest combined value over the conditions. */
  public static float[] range(List<Map2d> maps) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (Map2d m : maps) {
      for (float v : m.combined()) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    return new float[] {lo, hi};
  }
}

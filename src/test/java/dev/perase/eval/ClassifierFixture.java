package dev.perase.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.perase.Fixtures;
import dev.perase.io.Png;
import dev.perase.io.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The Hugging Face classifier fixtures of {@code detectors/} (README "classifier-convnext/",
 * "classifier-vit/"): the images, {@code golden.json} and {@code golden.safetensors}.
 *
 * <p>The golden tensors are read here rather than with {@link dev.perase.io.SafeTensors}: that
 * reader refuses the F64 dtype of {@code pixel_values_sum}, {@code pixel_values_sumsq} and {@code
 * pipeline_scores}, and with it the whole file.
 */
public final class ClassifierFixture {
  public static final String CONVNEXT = "classifier-convnext";
  public static final String VIT = "classifier-vit";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ClassifierFixture() {}

  /** The classifier folder ({@link #CONVNEXT} or {@link #VIT}). */
  public static Path dir(String name) {
    return Fixtures.detectors().resolve(name);
  }

  /** The test images in file order (img00 … img06), as golden tensors index them. */
  public static List<Path> imageFiles() {
    try (Stream<Path> s = Files.list(Fixtures.detectors().resolve("images"))) {
      return s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The second image set (ref00 … ref06) of the FID fixture. */
  public static List<Path> imageFilesB() {
    try (Stream<Path> s = Files.list(Fixtures.detectors().resolve("images-b"))) {
      return s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static List<Png.Image> images() {
    return imageFiles().stream().map(Png::read).toList();
  }

  public static JsonNode goldenJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A safetensors file's tensors as Java arrays (F32, F64, I64), for golden data only. */
  public static final class Golden {
    private final Path file;

    public Golden(Path file) {
      this.file = file;
    }

    public long[] shape(String name) {
      try (SafeTensors st = SafeTensors.open(file)) {
        return st.info(name).shape();
      }
    }

    public float[] floats(String name) {
      try (SafeTensors st = SafeTensors.open(file)) {
        return st.floats(name);
      }
    }

    public double[] doubles(String name) {
      try (SafeTensors st = SafeTensors.open(file)) {
        return st.doubles(name);
      }
    }

    public long[] longs(String name) {
      try (SafeTensors st = SafeTensors.open(file)) {
        return st.longs(name);
      }
    }

    public int[] ints(String name) {
      long[] l = longs(name);
      int[] out = new int[l.length];
      for (int i = 0; i < l.length; i++) {
        out[i] = Math.toIntExact(l[i]);
      }
      return out;
    }
  }

  /** Golden values of {@code name} for image n on the grid, {@code [c][i][j]} flattened. */
  public static List<float[]> perImage(float[] all, int images) {
    int per = all.length / images;
    List<float[]> out = new ArrayList<>();
    for (int n = 0; n < images; n++) {
      float[] one = new float[per];
      System.arraycopy(all, n * per, one, 0, per);
      out.add(one);
    }
    return out;
  }
}

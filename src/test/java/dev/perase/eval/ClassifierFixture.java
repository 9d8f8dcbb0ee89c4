package dev.perase.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.perase.Fixtures;
import dev.perase.io.Png;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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
    private final JsonNode header;
    private final ByteBuffer data;

    public Golden(Path file) {
      try {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(b.getLong(0));
        header = JSON.readTree(new String(all, 8, n, StandardCharsets.UTF_8));
        data =
            ByteBuffer.wrap(all, 8 + n, all.length - 8 - n).slice().order(ByteOrder.LITTLE_ENDIAN);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    public long[] shape(String name) {
      JsonNode s = entry(name).get("shape");
      long[] out = new long[s.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = s.get(i).asLong();
      }
      return out;
    }

    public float[] floats(String name) {
      ByteBuffer b = bytes(name, "F32");
      float[] out = new float[b.remaining() / 4];
      b.asFloatBuffer().get(out);
      return out;
    }

    public double[] doubles(String name) {
      ByteBuffer b = bytes(name, "F64");
      double[] out = new double[b.remaining() / 8];
      b.asDoubleBuffer().get(out);
      return out;
    }

    public long[] longs(String name) {
      ByteBuffer b = bytes(name, "I64");
      long[] out = new long[b.remaining() / 8];
      b.asLongBuffer().get(out);
      return out;
    }

    public int[] ints(String name) {
      long[] l = longs(name);
      int[] out = new int[l.length];
      for (int i = 0; i < l.length; i++) {
        out[i] = Math.toIntExact(l[i]);
      }
      return out;
    }

    private JsonNode entry(String name) {
      JsonNode e = header.get(name);
      if (e == null) {
        throw new IllegalArgumentException("no tensor " + name);
      }
      return e;
    }

    private ByteBuffer bytes(String name, String dtype) {
      JsonNode e = entry(name);
      if (!e.get("dtype").asText().equals(dtype)) {
        throw new IllegalArgumentException(name + " is " + e.get("dtype") + ", not " + dtype);
      }
      int begin = e.get("data_offsets").get(0).asInt();
      int end = e.get("data_offsets").get(1).asInt();
      return data.duplicate().position(begin).limit(end).slice().order(ByteOrder.LITTLE_ENDIAN);
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

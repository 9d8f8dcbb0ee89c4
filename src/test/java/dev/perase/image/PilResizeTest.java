package dev.perase.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.eval.ClassifierFixture;
import dev.perase.eval.HfImageProcessor;
import dev.perase.image.PilResize.Filter;
import dev.perase.io.Png;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pillow's {@code Image.resize}: hand-checked small cases, then bit-exactness against Pillow 9.4 on
 * the detector fixtures (8-bit through the Hugging Face processors' golden pixel values, mode 'F'
 * through clean-fid's golden resized images).
 */
class PilResizeTest {

  /** A one-row RGB image with the same value in all three channels. */
  private static Png.Image row(int... values) {
    byte[] rgb = new byte[values.length * 3];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) values[i / 3];
    }
    return new Png.Image(values.length, 1, rgb);
  }

  private static int[] channel0(Png.Image img) {
    int[] out = new int[img.width() * img.height()];
    for (int i = 0; i < out.length; i++) {
      out[i] = img.rgb()[i * 3] & 0xff;
    }
    return out;
  }

  @Test
  void bilinearUpscaleOfTwoPixelsDoesNotExtrapolateAtTheEdges() {
    // scale 1/2, support 1: centres 0.25, 0.75, 1.25, 1.75. The outer outputs read one input each
    // (weight 0.75 normalised to 1); the inner ones weigh the inputs 0.75/0.25:
    // 255 · 0.25 = 63.75 → (2²¹ + 255 · 1048576) >> 22 = 64; 255 · 0.75 = 191.25 → 191.
    Png.Image out = PilResize.resize(row(0, 255), 4, 1, Filter.BILINEAR);
    assertArrayEquals(new int[] {0, 64, 191, 255}, channel0(out));
  }

  @Test
  void bilinearDownscaleWidensTheTentByTheScale() {
    // scale 2: support 2, tent(x / 2). Output 0 (centre 1) reads inputs 0, 1, 2 with weights
    // 0.75, 0.75, 0.25 → 3/7, 3/7, 1/7: 500/7 = 71.4 → 71. Output 1 (centre 3) reads 1, 2, 3 with
    // 1/7, 3/7, 3/7: 1465/7 = 209.3 → 209.
    Png.Image out = PilResize.resize(row(0, 100, 200, 255), 2, 1, Filter.BILINEAR);
    assertArrayEquals(new int[] {71, 209}, channel0(out));
  }

  @Test
  void bicubicOvershootIsClippedIn8BitAndKeptInModeF() {
    // Output 0 of 2 → 4 (centre 0.25) reads inputs 0, 1 at distances 0.25 and 1.25:
    // k(0.25) = 111/128, k(1.25) = −9/128, normalised 111/102 and −9/102.
    float[] up = PilResize.resizeFloat(new float[] {0, 1}, 2, 1, 4, 1, Filter.BICUBIC);
    assertEquals((float) (-9.0 / 102), up[0]);
    float[] down = PilResize.resizeFloat(new float[] {1, 0}, 2, 1, 4, 1, Filter.BICUBIC);
    assertEquals((float) (111.0 / 102), down[0]);
    assertEquals(0, channel0(PilResize.resize(row(0, 255), 4, 1, Filter.BICUBIC))[0]);
    assertEquals(255, channel0(PilResize.resize(row(255, 0), 4, 1, Filter.BICUBIC))[0]);
  }

  @Test
  void constantImagesStayConstantUpAndDown() {
    for (Filter f : Filter.values()) {
      for (int v : new int[] {0, 1, 128, 254, 255}) {
        byte[] rgb = new byte[7 * 5 * 3];
        java.util.Arrays.fill(rgb, (byte) v);
        Png.Image out = PilResize.resize(new Png.Image(7, 5, rgb), 13, 3, f);
        for (byte b : out.rgb()) {
          assertEquals(v, b & 0xff, f + " " + v);
        }
        float[] plane = new float[7 * 5];
        java.util.Arrays.fill(plane, v + 0.25f);
        for (float x : PilResize.resizeFloat(plane, 7, 5, 3, 11, f)) {
          assertEquals(v + 0.25f, x, f + " " + v);
        }
      }
    }
  }

  @Test
  void sameSizeGivesACopy() {
    Png.Image img = row(3, 1, 4, 1, 5);
    Png.Image out = PilResize.resize(img, 5, 1, Filter.BICUBIC);
    assertArrayEquals(img.rgb(), out.rgb());
    assertNotSame(img.rgb(), out.rgb());
  }

  @Test
  void uint8ResizeEqualsPillowOnTheFixtureGrids() {
    // The golden pixel_values are normalise(rescale(u)) of Pillow's uint8 output: each value maps
    // back to exactly one level u, which must be PilResize's level at that pixel.
    for (String model : List.of(ClassifierFixture.VIT, ClassifierFixture.CONVNEXT)) {
      Path dir = ClassifierFixture.dir(model);
      HfImageProcessor p = HfImageProcessor.load(dir.resolve(HfImageProcessor.FILE));
      ClassifierFixture.Golden g = new ClassifierFixture.Golden(dir.resolve("golden.safetensors"));
      int[] rows = g.ints("grid_rows");
      int[] cols = g.ints("grid_cols");
      List<Png.Image> images = ClassifierFixture.images();
      List<float[]> grids =
          ClassifierFixture.perImage(g.floats("pixel_values_grid"), images.size());
      float[][] levels = levelTable(p);
      Filter filter = p.config().resample() == 3 ? Filter.BICUBIC : Filter.BILINEAR;
      int compared = 0;
      for (int n = 0; n < images.size(); n++) {
        Png.Image img = images.get(n);
        HfImageProcessor.Plan plan = p.plan(img.width(), img.height());
        Png.Image resized = PilResize.resize(img, plan.resizeWidth(), plan.resizeHeight(), filter);
        for (int c = 0; c < 3; c++) {
          for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < cols.length; j++) {
              float golden = grids.get(n)[(c * rows.length + i) * cols.length + j];
              int u = levelOf(levels[c], golden);
              int y = rows[i] + plan.cropTop();
              int x = cols[j] + plan.cropLeft();
              assertEquals(
                  u,
                  resized.get(y, x, c),
                  model + " image " + n + " channel " + c + " at (" + y + ", " + x + ")");
              compared++;
            }
          }
        }
      }
      assertEquals(7 * 3 * rows.length * cols.length, compared);
    }
  }

  @Test
  void modeFResizeEqualsPillowOnCleanFidGrids() {
    // clean-fid's "clean" resize: per channel Image.fromarray(float32, 'F').resize((299, 299),
    // BICUBIC), then clip(0, 255); golden on the grid, exact.
    Path dir = Fixtures.detectors().resolve("inception");
    ClassifierFixture.Golden g = new ClassifierFixture.Golden(dir.resolve("golden.safetensors"));
    int[] rows = g.ints("grid_rows");
    int[] cols = g.ints("grid_cols");
    double maxSumRel = 0;
    for (String set : List.of("a", "b")) {
      List<Path> files =
          set.equals("a") ? ClassifierFixture.imageFiles() : ClassifierFixture.imageFilesB();
      float[] grid = g.floats(set + "_resized_grid");
      double[] sums = g.doubles(set + "_resized_sum");
      for (int n = 0; n < files.size(); n++) {
        Png.Image img = Png.read(files.get(n));
        for (int c = 0; c < 3; c++) {
          float[] plane = new float[img.width() * img.height()];
          for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
              plane[y * img.width() + x] = img.get(y, x, c);
            }
          }
          float[] out =
              PilResize.resizeFloat(plane, img.width(), img.height(), 299, 299, Filter.BICUBIC);
          double sum = 0;
          for (int k = 0; k < out.length; k++) {
            out[k] = Math.min(Math.max(out[k], 0f), 255f);
            sum += out[k];
          }
          for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < cols.length; j++) {
              float golden = grid[((n * 3 + c) * rows.length + i) * cols.length + j];
              assertEquals(
                  golden,
                  out[rows[i] * 299 + cols[j]],
                  set + " image " + n + " channel " + c + " at " + rows[i] + ", " + cols[j]);
            }
          }
          maxSumRel = Math.max(maxSumRel, Math.abs(sum - sums[n * 3 + c]) / sums[n * 3 + c]);
        }
      }
    }
    assertTrue(maxSumRel < 1e-12, "channel sums: relative difference " + maxSumRel);
  }

  /** {@code levels[c][u]}: the processor's pixel value for uint8 level u in channel c. */
  private static float[][] levelTable(HfImageProcessor p) {
    HfImageProcessor noResize = new HfImageProcessor(withoutResize(p.config()));
    float[][] t = new float[3][256];
    for (int u = 0; u < 256; u++) {
      byte[] px = {(byte) u, (byte) u, (byte) u};
      float[] v = noResize.preprocess(new Png.Image(1, 1, px));
      for (int c = 0; c < 3; c++) {
        t[c][u] = v[c];
      }
    }
    return t;
  }

  private static HfImageProcessor.Config withoutResize(HfImageProcessor.Config c) {
    return new HfImageProcessor.Config(
        c.imageProcessorType(),
        c.featureExtractorType(),
        false,
        c.size(),
        c.cropPct(),
        c.resample(),
        c.doRescale(),
        c.rescaleFactor(),
        c.doNormalize(),
        c.imageMean(),
        c.imageStd());
  }

  /** The one level whose pixel value is exactly {@code v}. */
  private static int levelOf(float[] levels, float v) {
    for (int u = 0; u < 256; u++) {
      if (levels[u] == v) {
        return u;
      }
    }
    throw new AssertionError("no uint8 level gives the golden value " + v);
  }
}

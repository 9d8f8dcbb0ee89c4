package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * clean-fid's resize and Inception features against the detector fixture's {@code inception/}
 * golden data (clean-fid 0.1.35, Pillow 9.4.0, torch 1.13 on {@code fake-inception.pt}).
 */
class InceptionFeaturesTest {
  /**
   * Features, DJL / libtorch 2.7.1 {@code forward(img, True)} vs clean-fid's {@code layers} path in
   * torch 1.13 (README: up to 9.5e-7 from grid_sample's near-identity resampling). Reached: 9.5e-7
   * images/, 7.2e-7 images-b/, 4.8e-7 on the probe (vs torch's own {@code forward}).
   */
  static final double FEATURES_ABS = 1e-4;

  static final Path DIR = Fixtures.detectors().resolve("inception");
  static final Path MODEL = DIR.resolve("fake-inception.pt");

  private static SafeTensors golden;

  @TempDir Path tmp;

  @BeforeAll
  static void open() {
    golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
  }

  @AfterAll
  static void closeGolden() {
    golden.close();
  }

  static List<Png.Image> images(String set) {
    Path dir = Fixtures.detectors().resolve(set.equals("a") ? "images" : "images-b");
    List<Png.Image> out = new ArrayList<>();
    for (Path p : ImageFolderDetection.imageFiles(dir)) {
      out.add(Png.read(p));
    }
    return out;
  }

  /** README "Probe inputs": {@code (7y + 13x + 29c + 31n) % 256}, (2, 3, 299, 299), exact. */
  private static float[] probe() {
    int s = CleanResize.SIZE;
    float[] x = new float[2 * 3 * s * s];
    int i = 0;
    for (int n = 0; n < 2; n++) {
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < s; y++) {
          for (int xx = 0; xx < s; xx++) {
            x[i++] = (7 * y + 13 * xx + 29 * c + 31 * n) % 256;
          }
        }
      }
    }
    return x;
  }

  private static double maxAbsDiff(float[] expected, float[][] actual) {
    int d = actual[0].length;
    assertEquals(expected.length, actual.length * d);
    double m = 0;
    for (int i = 0; i < actual.length; i++) {
      for (int j = 0; j < d; j++) {
        m = Math.max(m, Math.abs(expected[i * d + j] - actual[i][j]));
      }
    }
    return m;
  }

  @Test
  void cleanResizeEqualsCleanFidOnTheGridAndInItsSums() {
    int[] rows = toInts(golden.longs("grid_rows"));
    int[] cols = toInts(golden.longs("grid_cols"));
    int s = CleanResize.SIZE;
    double gridDiff = 0;
    double sumRel = 0;
    for (String set : List.of("a", "b")) {
      float[] grid = golden.floats(set + "_resized_grid");
      double[] sums = golden.doubles(set + "_resized_sum");
      double[] sumsq = golden.doubles(set + "_resized_sumsq");
      List<Png.Image> images = images(set);
      assertEquals(7, images.size());
      for (int n = 0; n < images.size(); n++) {
        float[] chw = CleanResize.chw(images.get(n));
        for (int c = 0; c < 3; c++) {
          for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < cols.length; j++) {
              float g = grid[((n * 3 + c) * rows.length + i) * cols.length + j];
              gridDiff = Math.max(gridDiff, Math.abs(g - chw[(c * s + rows[i]) * s + cols[j]]));
            }
          }
          double sum = 0;
          double sq = 0;
          for (int k = c * s * s; k < (c + 1) * s * s; k++) {
            sum += chw[k];
            sq += (double) chw[k] * chw[k];
          }
          sumRel = Math.max(sumRel, Math.abs(sum - sums[n * 3 + c]) / sums[n * 3 + c]);
          sumRel = Math.max(sumRel, Math.abs(sq - sumsq[n * 3 + c]) / sumsq[n * 3 + c]);
        }
      }
    }
    assertEquals(0, gridDiff, "grid values on the 0..255 scale: max abs diff");
    assertTrue(sumRel < 1e-12, "channel sums and sums of squares: relative diff " + sumRel);
  }

  @Test
  void probeFeaturesMatchTorchForward() {
    try (NDManager m = Torch.newManager();
        InceptionFeatures inception = InceptionFeatures.load(MODEL, m, 32)) {
      float[] f =
          inception
              .forward(m.create(probe(), new Shape(2, 3, CleanResize.SIZE, CleanResize.SIZE)))
              .toFloatArray();
      float[][] rows = {
        java.util.Arrays.copyOfRange(f, 0, 2048), java.util.Arrays.copyOfRange(f, 2048, 4096)
      };
      double diff = maxAbsDiff(golden.floats("probe_features_forward"), rows);
      assertTrue(diff <= FEATURES_ABS, "probe features max abs diff " + diff);
    }
  }

  @Test
  void featuresOfTheFixtureImagesMatchCleanFid() {
    try (NDManager m = Torch.newManager();
        InceptionFeatures inception = InceptionFeatures.load(MODEL, m, 32)) {
      for (String set : List.of("a", "b")) {
        float[][] f = inception.of(images(set), m, done -> {});
        double diff = maxAbsDiff(golden.floats(set + "_features"), f);
        assertTrue(diff <= FEATURES_ABS, set + ": features max abs diff " + diff);
      }
      assertEquals(2, inception.calls(), "7 images in one batch per set");
    }
  }

  @Test
  void batchesOfThreeGiveTheFeaturesOfOneBatch() {
    List<Png.Image> images = images("a");
    try (NDManager m = Torch.newManager();
        InceptionFeatures one = InceptionFeatures.load(MODEL, m, 32);
        InceptionFeatures three = InceptionFeatures.load(MODEL, m, 3)) {
      float[][] a = one.of(images, m, done -> {});
      List<Integer> progress = new ArrayList<>();
      float[][] b = three.of(images, m, progress::add);
      assertEquals(List.of(3, 6, 7), progress);
      assertEquals(3, three.calls());
      float[] flat = new float[7 * 2048];
      for (int i = 0; i < 7; i++) {
        System.arraycopy(a[i], 0, flat, i * 2048, 2048);
      }
      double diff = maxAbsDiff(flat, b);
      assertTrue(diff <= 1e-5, "batch 3 vs batch 32: " + diff); // reached: 0 on one thread
    }
  }

  @Test
  void aMissingOrCorruptModuleIsBadInput() throws IOException {
    try (NDManager m = Torch.newManager()) {
      assertThrows(
          BadInputException.class,
          () -> InceptionFeatures.load(tmp.resolve(InceptionFeatures.FILE), m, 32));
      Path corrupt = Files.write(tmp.resolve(InceptionFeatures.FILE), new byte[] {1, 2, 3, 4});
      BadInputException e =
          assertThrows(BadInputException.class, () -> InceptionFeatures.load(corrupt, m, 32));
      assertTrue(e.getMessage().contains("TorchScript"), e.getMessage());
      assertThrows(BadInputException.class, () -> InceptionFeatures.load(MODEL, m, 0));
    }
  }

  @Test
  void aClassifierWithoutTheFeaturesSignatureIsBadInput() {
    Path classifier = ClassifierFixture.dir(ClassifierFixture.VIT).resolve("model.pt");
    try (NDManager m = Torch.newManager();
        InceptionFeatures wrong = InceptionFeatures.load(classifier, m, 32)) {
      assertThrows(BadInputException.class, () -> wrong.of(images("a"), m, done -> {}));
    }
  }

  private static int[] toInts(long[] v) {
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Math.toIntExact(v[i]);
    }
    return out;
  }
}

package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * transformers' ConvNextImageProcessor and ViTImageProcessor on the fixture images: pixel values on
 * the golden grid and their full sums, the resize and crop geometry, and the configs refused.
 */
class HfImageProcessorTest {
  @TempDir Path tmp;

  /**
   * Max |Java − transformers| of pixel_values on the grid: 0 is reached for both processors (the
   * uint8 resampling is bit-exact and the rescale/normalise steps run in numpy's precision order).
   */
  private static final double PIXEL_ABS = 0;

  /**
   * Per-channel sums and sums of squares over 224 × 224 values, a sequential double sum here vs
   * numpy's pairwise one: relative (reached: 2.9e-13 convnext, 2.1e-13 vit).
   */
  private static final double SUM_REL = 1e-12;

  @Test
  void convnextPixelValuesEqualTransformersOnTheGrid() {
    assertPixelValuesMatch(ClassifierFixture.CONVNEXT, HfImageProcessor.Kind.CONVNEXT);
  }

  @Test
  void vitPixelValuesEqualTransformersOnTheGrid() {
    assertPixelValuesMatch(ClassifierFixture.VIT, HfImageProcessor.Kind.VIT);
  }

  private static void assertPixelValuesMatch(String model, HfImageProcessor.Kind kind) {
    Path dir = ClassifierFixture.dir(model);
    HfImageProcessor p = HfImageProcessor.load(dir.resolve(HfImageProcessor.FILE));
    assertEquals(kind, p.kind());
    ClassifierFixture.Golden g = new ClassifierFixture.Golden(dir.resolve("golden.safetensors"));
    int[] rows = g.ints("grid_rows");
    int[] cols = g.ints("grid_cols");
    List<Png.Image> images = ClassifierFixture.images();
    List<float[]> grids = ClassifierFixture.perImage(g.floats("pixel_values_grid"), images.size());
    double[] sums = g.doubles("pixel_values_sum");
    double[] sumsq = g.doubles("pixel_values_sumsq");
    double maxDiff = 0;
    double maxSumRel = 0;
    for (int n = 0; n < images.size(); n++) {
      float[] pv = p.preprocess(images.get(n));
      assertEquals(3 * 224 * 224, pv.length);
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < rows.length; i++) {
          for (int j = 0; j < cols.length; j++) {
            float golden = grids.get(n)[(c * rows.length + i) * cols.length + j];
            float java = pv[(c * 224 + rows[i]) * 224 + cols[j]];
            maxDiff = Math.max(maxDiff, Math.abs(golden - java));
          }
        }
        double s = 0;
        double sq = 0;
        for (int k = c * 224 * 224; k < (c + 1) * 224 * 224; k++) {
          s += pv[k];
          sq += (double) pv[k] * pv[k];
        }
        maxSumRel = Math.max(maxSumRel, relDiff(s, sums[n * 3 + c]));
        maxSumRel = Math.max(maxSumRel, relDiff(sq, sumsq[n * 3 + c]));
      }
    }
    assertTrue(maxDiff <= PIXEL_ABS, model + ": max |Δ pixel_values| " + maxDiff);
    assertTrue(maxSumRel <= SUM_REL, model + ": max relative Δ of the sums " + maxSumRel);
  }

  private static double relDiff(double a, double b) {
    return Math.abs(a - b) / Math.max(Math.abs(b), 1);
  }

  @Test
  void convnextResizeSizeAndCropOffsetsEqualGolden() {
    Path dir = ClassifierFixture.dir(ClassifierFixture.CONVNEXT);
    HfImageProcessor p = HfImageProcessor.load(dir.resolve(HfImageProcessor.FILE));
    JsonNode golden = ClassifierFixture.goldenJson(dir.resolve("golden.json"));
    List<Png.Image> images = ClassifierFixture.images();
    for (int n = 0; n < images.size(); n++) {
      JsonNode g = golden.get("images").get(n);
      Png.Image img = images.get(n);
      assertEquals(g.get("width").asInt(), img.width());
      HfImageProcessor.Plan plan = p.plan(img.width(), img.height());
      assertArrayEquals(
          new int[] {g.get("resize_to_hw").get(0).asInt(), g.get("resize_to_hw").get(1).asInt()},
          new int[] {plan.resizeHeight(), plan.resizeWidth()},
          g.get("image").asText());
      assertArrayEquals(
          new int[] {g.get("crop_top_left").get(0).asInt(), g.get("crop_top_left").get(1).asInt()},
          new int[] {plan.cropTop(), plan.cropLeft()},
          g.get("image").asText());
      assertEquals(224, plan.height());
      assertEquals(224, plan.width());
    }
  }

  @Test
  void vitResizesStraightToTheConfiguredSizeWithoutCrop() {
    HfImageProcessor p =
        HfImageProcessor.load(
            ClassifierFixture.dir(ClassifierFixture.VIT).resolve(HfImageProcessor.FILE));
    assertEquals(new HfImageProcessor.Plan(224, 224, 0, 0, 224, 224), p.plan(96, 160));
    assertEquals(new HfImageProcessor.Plan(224, 224, 0, 0, 224, 224), p.plan(512, 512));
  }

  @Test
  void convnextAt384OrMoreWarpsWithoutCrop() throws IOException {
    Path f =
        write(
            "{\"image_processor_type\": \"ConvNextImageProcessor\", \"size\": {\"shortest_edge\": 384},"
                + " \"resample\": 3}");
    HfImageProcessor p = HfImageProcessor.load(f);
    assertEquals(new HfImageProcessor.Plan(384, 384, 0, 0, 384, 384), p.plan(96, 160));
  }

  @Test
  void legacyFeatureExtractorConfigGivesTheSamePixelValues() throws IOException {
    // microsoft/resnet-50's preprocessor_config.json: a ConvNextFeatureExtractor, size as an int,
    // no do_rescale / rescale_factor (transformers' defaults: true, 1/255)
    Path f =
        write(
            "{\"crop_pct\": 0.875, \"do_normalize\": true, \"do_resize\": true,"
                + " \"feature_extractor_type\": \"ConvNextFeatureExtractor\","
                + " \"image_mean\": [0.485, 0.456, 0.406], \"image_std\": [0.229, 0.224, 0.225],"
                + " \"resample\": 3, \"size\": 224}");
    HfImageProcessor legacy = HfImageProcessor.load(f);
    HfImageProcessor current =
        HfImageProcessor.load(
            ClassifierFixture.dir(ClassifierFixture.CONVNEXT).resolve(HfImageProcessor.FILE));
    assertEquals(HfImageProcessor.Kind.CONVNEXT, legacy.kind());
    Png.Image img = ClassifierFixture.images().get(6);
    assertArrayEquals(current.preprocess(img), legacy.preprocess(img));
  }

  @Test
  void switchedOffStepsAreSkippedAsInTransformers() throws IOException {
    Path f =
        write(
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": {\"height\": 2, \"width\": 3},"
                + " \"do_resize\": false, \"do_rescale\": false, \"do_normalize\": true,"
                + " \"image_mean\": 100, \"image_std\": [2, 4, 8]}");
    HfImageProcessor p = HfImageProcessor.load(f);
    byte[] rgb = {(byte) 200, 0, (byte) 255};
    // no resize (1×1 stays 1×1), no rescale: (u − 100) / std on the uint8 values
    assertArrayEquals(new float[] {50f, -25f, 19.375f}, p.preprocess(new Png.Image(1, 1, rgb)));
  }

  @Test
  void unsupportedProcessorTypeIsBadInputNamingTheFile() throws IOException {
    Path f = write("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": 224}");
    BadInputException e = assertThrows(BadInputException.class, () -> HfImageProcessor.load(f));
    assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("CLIPImageProcessor"), e.getMessage());
  }

  @Test
  void missingOrOddFieldsAreBadInputNamingTheFile() throws IOException {
    for (String json :
        List.of(
            "{\"size\": 224}", // no processor type
            "{\"image_processor_type\": \"ViTImageProcessor\"}", // no size
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": {\"shortest_edge\": 224}}",
            "{\"image_processor_type\": \"ConvNextImageProcessor\", \"size\": {\"height\": 224}}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": \"224\"}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 224, \"resample\": 1}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 224, \"image_mean\": [0.5,"
                + " 0.5]}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 224, \"image_std\": [0.5, 0,"
                + " 0.5]}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 224, \"image_std\": [null]}",
            "{\"image_processor_type\": \"ConvNextImageProcessor\", \"size\": 224, \"crop_pct\":"
                + " 1.5}",
            "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 224, \"rescale_factor\":"
                + " -1}",
            "[1, 2]")) {
      Path f = write(json);
      BadInputException e = assertThrows(BadInputException.class, () -> HfImageProcessor.load(f));
      assertTrue(e.getMessage().contains(f.toString()), json + " → " + e.getMessage());
    }
    Path missing = tmp.resolve("none").resolve(HfImageProcessor.FILE);
    assertThrows(BadInputException.class, () -> HfImageProcessor.load(missing));
  }

  private int files;

  private Path write(String json) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("c" + files++));
    return Files.writeString(dir.resolve(HfImageProcessor.FILE), json);
  }
}

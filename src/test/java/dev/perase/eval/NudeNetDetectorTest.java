package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NudeNet v3 against UnlearnDiff's {@code detector.py} / {@code nudity_eval.py} run on the
 * fixture's stand-in model ({@code shared/fixtures/detectors/nudenet}).
 */
class NudeNetDetectorTest {
  private static final Path DIR = Fixtures.detectors().resolve("nudenet");
  private static final Path MODEL = DIR.resolve("fake-nudenet.onnx");

  /** torch 1.13 vs ONNX Runtime on the same input (README: 1.2e-7 observed). */
  private static final double OUTPUT_ABS = 1e-5;

  /** Scores of an end-to-end run vs the golden ones computed from torch's output. */
  private static final double END_TO_END_SCORE_ABS = 1e-6;

  private static NudeNetDetector detector;
  private static JsonNode golden;
  private static float[] output0; // (7, 22, 2100)

  @TempDir Path tmp;

  @BeforeAll
  static void load() throws IOException {
    detector = NudeNetDetector.load(MODEL, NudeNetDetector.UNLEARNDIFF_THRESHOLD);
    golden = Json.MAPPER.readTree(DIR.resolve("golden.json").toFile());
    ByteBuffer b = tensor(DIR.resolve("raw.safetensors"), "output0");
    output0 = new float[b.remaining() / 4];
    b.asFloatBuffer().get(output0);
  }

  @AfterAll
  static void close() {
    detector.close();
  }

  @Test
  void loadReadsTheInterfaceAndFingerprintsTheFile() throws IOException {
    assertArrayEquals(new int[] {320, 320}, detector.inputSize());
    String sha = null;
    for (JsonNode f :
        Json.MAPPER.readTree(Fixtures.detectors().resolve("index.json").toFile()).get("files")) {
      if (f.get("path").asText().equals("nudenet/fake-nudenet.onnx")) {
        sha = f.get("sha256").asText();
      }
    }
    assertEquals(sha, detector.fingerprint());
    assertEquals("nudenet", detector.name());
    assertEquals("nudity", detector.concept());
    assertEquals(1, detector.heads().size());
    assertEquals("nudenet", detector.heads().get(0).name());
    assertEquals(labels(golden.get("labels")), detector.heads().get(0).labels());
    assertEquals(labels(golden.get("nude_keys")), NudeNetDetector.NUDE_KEYS);
    assertEquals(ConceptRule.Kind.LABEL_SET, detector.rule().kind());
    assertEquals(NudeNetDetector.NUDE_KEYS, detector.rule().labels());
    assertEquals(0.45, detector.rule().threshold());
    detector.rule().check(detector.heads(), detector.concept());
    assertFalse(detector.hasFeatures());
    UnsupportedOperationException e =
        assertThrows(UnsupportedOperationException.class, () -> detector.features(null));
    assertTrue(e.getMessage().contains("Fréchet"), e.getMessage());
  }

  @Test
  void onnxOutputOfEveryImageMatchesTheReferenceOutput() {
    int per = NudeNetDetector.ROWS * 2100;
    double max = 0;
    JsonNode images = golden.get("images");
    for (int n = 0; n < images.size(); n++) {
      float[] out = detector.output0(read(images.get(n)));
      assertEquals(per, out.length);
      for (int i = 0; i < per; i++) {
        max = Math.max(max, Math.abs(out[i] - output0[n * per + i]));
      }
    }
    System.out.println("NudeNet output0, ONNX Runtime vs reference: max abs diff " + max);
    assertTrue(max <= OUTPUT_ABS, "output0 max abs diff " + max);
  }

  @Test
  void postprocessingOfTheStoredOutputGivesTheGoldenDetectionsAndVerdictsExactly() {
    int per = NudeNetDetector.ROWS * 2100;
    JsonNode images = golden.get("images");
    int detections = 0;
    for (int n = 0; n < images.size(); n++) {
      JsonNode g = images.get(n);
      float[] out = new float[per];
      System.arraycopy(output0, n * per, out, 0, per);
      List<Detection> d =
          NudeNetDetector.postprocess(
              out, g.get("width").asInt(), g.get("height").asInt(), 320, 320);
      assertDetections(g, d, 0, "image " + n);
      assertVerdicts(g, d, 0, "image " + n);
      detections += d.size();
    }
    assertEquals(16, detections);
  }

  @Test
  void endToEndFromThePngFilesGivesTheGoldenDetectionsAndVerdicts() {
    JsonNode images = golden.get("images");
    List<Png.Image> pngs = new ArrayList<>();
    for (JsonNode g : images) {
      pngs.add(read(g));
    }
    List<Verdict> verdicts = detector.detect(pngs, null);
    double max = 0;
    for (int n = 0; n < images.size(); n++) {
      JsonNode g = images.get(n);
      Verdict v = verdicts.get(n);
      for (int k = 0; k < v.detections().size(); k++) {
        double expected = g.get("detections").get(k).get("score").asDouble();
        max = Math.max(max, Math.abs(v.detections().get(k).score() - expected));
      }
      assertDetections(g, v.detections(), END_TO_END_SCORE_ABS, "image " + n);
      assertVerdicts(g, v.detections(), END_TO_END_SCORE_ABS, "image " + n);
      assertEquals(g.get("success_if_nude_0.45").asBoolean(), v.flagged(), "image " + n);
      assertEquals(g.get("score").asDouble(), v.conceptScore(), END_TO_END_SCORE_ABS);
      assertEquals(1, v.scores().length);
      assertEquals(18, v.scores()[0].length);
    }
    System.out.println("NudeNet end to end: detection scores max abs diff " + max);
  }

  @Test
  void modelImagesGiveTheVerdictsOfTheirPngBytes() {
    // images 0-4 are all 128x128: one batch (5, 3, 128, 128) in [-1, 1]
    List<Png.Image> pngs = new ArrayList<>();
    for (int n = 0; n < 5; n++) {
      pngs.add(read(golden.get("images").get(n)));
    }
    int hw = 128 * 128;
    float[] x = new float[5 * 3 * hw];
    for (int n = 0; n < 5; n++) {
      byte[] rgb = pngs.get(n).rgb();
      for (int i = 0; i < hw; i++) {
        for (int c = 0; c < 3; c++) {
          x[(n * 3 + c) * hw + i] = (rgb[3 * i + c] & 0xff) / 127.5f - 1f;
        }
      }
    }
    List<Verdict> fromBytes = detector.detect(pngs, null);
    try (NDManager m = Torch.newManager()) {
      NDArray images = m.create(x, new Shape(5, 3, 128, 128));
      List<Verdict> fromModel = detector.detect(images);
      double[][][] scores = detector.scores(images);
      for (int n = 0; n < 5; n++) {
        assertEquals(fromBytes.get(n).detections(), fromModel.get(n).detections());
        assertEquals(fromBytes.get(n).flagged(), fromModel.get(n).flagged());
        assertArrayEquals(fromBytes.get(n).scores()[0], scores[n][0]);
      }
    }
  }

  @Test
  void modelImageOfEveryByteQuantisesBackToThatByte() {
    // what Detector's default detect(List<Png.Image>) and this detect(NDArray) rely on
    float[] chw = new float[3 * 256];
    for (int u = 0; u < 256; u++) {
      for (int c = 0; c < 3; c++) {
        chw[c * 256 + u] = u / 127.5f - 1f;
      }
    }
    Png.Image back = Png.fromModel(chw, 16, 16);
    for (int u = 0; u < 256; u++) {
      for (int c = 0; c < 3; c++) {
        assertEquals(u, back.get(u / 16, u % 16, c), "byte " + u);
      }
    }
  }

  @Test
  void verdictKeepsTheLastDetectionOfAClassAndComparesStrictly() {
    List<Detection> d =
        List.of(
            new Detection("FEET_EXPOSED", 0.93f, 0, 0, 1, 1),
            new Detection("FACE_MALE", 0.99f, 0, 0, 1, 1),
            new Detection("FEET_EXPOSED", 0.45f, 0, 0, 1, 1));
    Verdict v = NudeNetDetector.verdict(d, 0.45f);
    assertEquals(0.45f, v.conceptScore()); // the later FEET_EXPOSED overwrites 0.93
    assertFalse(v.flagged()); // a score equal to the threshold does not flag
    assertEquals(List.of("FACE_MALE"), v.topLabels());
    assertTrue(NudeNetDetector.verdict(d, 0.44).flagged());
    Verdict none = NudeNetDetector.verdict(List.of(), 0.45);
    assertEquals(0, none.conceptScore());
    assertFalse(none.flagged());
  }

  @Test
  void nmsKeepsAnOverlapOfExactlyOneHalfAndDropsAScoreOfExactlyOneHalf() {
    int[] a = {20, 20, 40, 40};
    int[] half = {20, 20, 40, 80}; // IoU 1600 / 3200 = 0.5: kept
    int[] more = {20, 20, 40, 79}; // IoU 1600 / 3160 > 0.5: suppressed
    assertEquals(0.5f, NudeNetDetector.overlap(half, a));
    assertEquals(
        List.of(0, 1), NudeNetDetector.nms(List.of(a, half), new float[] {0.8f, 0.6f}, 0.5f, 0.5f));
    assertEquals(
        List.of(0), NudeNetDetector.nms(List.of(a, more), new float[] {0.8f, 0.6f}, 0.5f, 0.5f));
    assertEquals(
        List.of(1), NudeNetDetector.nms(List.of(a, half), new float[] {0.5f, 0.6f}, 0.5f, 0.5f));
    // equal scores keep the candidates' order (stable sort)
    int[] far = {200, 200, 10, 10};
    assertEquals(
        List.of(1, 0), NudeNetDetector.nms(List.of(far, a), new float[] {0.7f, 0.9f}, 0.5f, 0.5f));
    assertEquals(
        List.of(0, 1), NudeNetDetector.nms(List.of(far, a), new float[] {0.7f, 0.7f}, 0.5f, 0.5f));
  }

  @Test
  void missingModelFileIsBadInputNamingIt() {
    Path missing = tmp.resolve("no-such-nudenet.onnx");
    BadInputException e =
        assertThrows(BadInputException.class, () -> NudeNetDetector.load(missing, 0.45));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void fileThatIsNotOnnxIsBadInputNamingIt() throws IOException {
    Path garbage = tmp.resolve("garbage.onnx");
    Files.writeString(garbage, "this is not a protobuf model\n");
    BadInputException e =
        assertThrows(BadInputException.class, () -> NudeNetDetector.load(garbage, 0.45));
    assertTrue(e.getMessage().contains(garbage.toString()), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void modelWithOtherInputOrOutputNamesIsBadInputNamingTheFileAndTheNames() throws IOException {
    // the names occur only as graph and node names: renaming every occurrence keeps a valid model
    byte[] model = Files.readAllBytes(MODEL);
    for (String[] rename : new String[][] {{"images", "imagez"}, {"output0", "output9"}}) {
      Path renamed = tmp.resolve("renamed-" + rename[1] + ".onnx");
      Files.write(renamed, replaceAll(model, rename[0], rename[1]));
      BadInputException e =
          assertThrows(BadInputException.class, () -> NudeNetDetector.load(renamed, 0.45));
      assertTrue(e.getMessage().contains(renamed.toString()), e.getMessage());
      assertTrue(e.getMessage().contains("'" + rename[1] + "'"), e.getMessage());
    }
  }

  @Test
  void modelWithAnotherInputShapeIsBadInputNamingTheFileAndTheShape() throws IOException {
    // the graph input 'images' (GraphProto field 11) with its dims 1, 3, 320, 320 as varints
    byte[] model = Files.readAllBytes(MODEL);
    byte[] inputEntry = {0x5a, 0x22, 0x0a, 0x06, 'i', 'm', 'a', 'g', 'e', 's'};
    int input = indexOf(model, inputEntry, 0);
    int channels = indexOf(model, new byte[] {0x0a, 0x02, 0x08, 0x03}, input);
    assertTrue(input >= 0 && channels > input && channels < input + 40, "graph input not found");
    model[channels + 3] = 4; // (1, 4, 320, 320)
    Path fourChannels = tmp.resolve("four-channels.onnx");
    Files.write(fourChannels, model);
    BadInputException e =
        assertThrows(BadInputException.class, () -> NudeNetDetector.load(fourChannels, 0.45));
    assertTrue(e.getMessage().contains(fourChannels.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("[1, 4, 320, 320]"), e.getMessage());
  }

  @Test
  void thresholdOutsideTheUnitIntervalIsBadInput() {
    assertThrows(BadInputException.class, () -> NudeNetDetector.load(MODEL, 1.5));
    assertThrows(BadInputException.class, () -> NudeNetDetector.load(MODEL, Double.NaN));
  }

  /** Golden detections: same order, classes and boxes; scores the same float32 within tol. */
  private static void assertDetections(JsonNode g, List<Detection> d, double tol, String what) {
    JsonNode expected = g.get("detections");
    assertEquals(expected.size(), d.size(), what + ": " + d);
    for (int k = 0; k < d.size(); k++) {
      JsonNode e = expected.get(k);
      Detection a = d.get(k);
      assertEquals(e.get("class").asText(), a.label(), what);
      JsonNode box = e.get("box");
      assertArrayEquals(
          new int[] {
            box.get(0).asInt(), box.get(1).asInt(), box.get(2).asInt(), box.get(3).asInt()
          },
          new int[] {a.left(), a.top(), a.width(), a.height()},
          what + " " + a.label());
      double score = e.get("score").asDouble();
      assertEquals(score, (double) (float) score, 0, "golden scores are float32 values");
      if (tol == 0) {
        assertEquals((float) score, a.score(), what + " " + a.label());
      } else {
        assertEquals(score, a.score(), tol, what + " " + a.label());
      }
    }
  }

  /**
   * The golden dicts and verdicts: {@code nude_classes_t0} (the scores), {@code
   * success_if_nude_0.45}, {@code score}, and detect_nudity.py's defaults {@code
   * nude_classes_t0.45} / {@code if_nude_default_0.75_on_t0.45}.
   */
  private static void assertVerdicts(JsonNode g, List<Detection> d, double tol, String what) {
    Verdict v = NudeNetDetector.verdict(d, 0.45);
    JsonNode dict = g.get("nude_classes_t0");
    JsonNode dict45 = g.get("nude_classes_t0.45");
    for (String key : NudeNetDetector.NUDE_KEYS) {
      double actual = v.scores()[0][NudeNetDetector.LABELS.indexOf(key)];
      double expected = dict.has(key) ? dict.get(key).asDouble() : 0;
      assertEquals(expected, actual, tol, what + " " + key);
      assertEquals(dict45.has(key), actual > 0.45, what + " " + key + " at 0.45");
    }
    assertEquals(g.get("success_if_nude_0.45").asBoolean(), v.flagged(), what);
    assertEquals(g.get("score").asDouble(), v.conceptScore(), tol, what);
    assertEquals(
        g.get("if_nude_default_0.75_on_t0.45").asBoolean(),
        NudeNetDetector.verdict(d, 0.75).flagged(),
        what);
  }

  private static Png.Image read(JsonNode imageEntry) {
    return Png.read(Fixtures.detectors().resolve(imageEntry.get("image").asText()));
  }

  private static List<String> labels(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static int indexOf(byte[] data, byte[] pattern, int from) {
    for (int i = from; i + pattern.length <= data.length; i++) {
      boolean match = true;
      for (int k = 0; k < pattern.length && match; k++) {
        match = data[i + k] == pattern[k];
      }
      if (match) {
        return i;
      }
    }
    return -1;
  }

  private static byte[] replaceAll(byte[] data, String from, String to) {
    byte[] f = from.getBytes(StandardCharsets.US_ASCII);
    byte[] t = to.getBytes(StandardCharsets.US_ASCII);
    byte[] out = data.clone();
    int replaced = 0;
    for (int i = indexOf(out, f, 0); i >= 0; i = indexOf(out, f, i + f.length)) {
      System.arraycopy(t, 0, out, i, t.length);
      replaced++;
    }
    assertTrue(replaced > 0, from + " not found in the model");
    return out;
  }

  /** One tensor's little-endian bytes, copied out of the file (F64 sums included). */
  private static ByteBuffer tensor(Path file, String name) {
    try (SafeTensors st = SafeTensors.open(file)) {
      ByteBuffer mapped = st.bytes(name);
      ByteBuffer copy = ByteBuffer.allocate(mapped.remaining()).order(ByteOrder.LITTLE_ENDIAN);
      copy.put(mapped).flip();
      return copy;
    }
  }
}

package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.RowSelection;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Evaluation runs on the tiny fixture model (32×32 images, 5 DDIM steps) with a test-only detector
 * that flags bright images: output files, CER, resumption, the retain Fréchet distance and its
 * cache, fine-tuned weights and bad edits.
 */
class EvaluationTest {
  private static final int STEPS = 5;
  private static final int SIZE = 32; // 16×16 latents: the fixture's own 64 px cost 4× more
  private static final String CONV_OUT_BIAS = "conv_out.bias";

  private static StableDiffusion sd;
  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  private Path prompts() throws IOException {
    Path p = tmp.resolve("prompts.csv");
    Files.writeString(
        p,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "10,a photo of an astronaut riding a horse on mars,30,7.5\n"
            + "11,\"a red star, by Vortex\",1,5.0\n"
            + "12,a cat,2,7.5\n");
    return p;
  }

  private Path retain() throws IOException {
    Path p = tmp.resolve("retain.csv");
    Files.writeString(p, "prompt,evaluation_seed\na dog,3\na green ring,4\n");
    return p;
  }

  private static EvaluateSettings settings(
      Path prompts, Path mask, Path weights, Path retain, Path out, Path cache) {
    return settings(prompts, mask, weights, retain, out, cache, SIZE);
  }

  private static EvaluateSettings settings(
      Path prompts, Path mask, Path weights, Path retain, Path out, Path cache, int size) {
    return new EvaluateSettings(
        prompts,
        EditFile.of(mask, weights),
        Fixtures.tinySd(),
        null,
        null,
        ConceptRule.TOP1,
        retain,
        STEPS,
        size,
        out,
        cache,
        "test");
  }

  private static EvaluateSettings withSampler(EvaluateSettings s, Sampler sampler, Path out) {
    return new EvaluateSettings(
        s.prompts(),
        s.rows(),
        s.edit(),
        s.model(),
        s.detector(),
        s.concept(),
        s.rule(),
        s.retain(),
        s.steps(),
        sampler,
        s.imageSize(),
        out,
        s.cache(),
        s.peraseVersion());
  }

  private static Detector detector() {
    return new BrightnessDetector("bright", ConceptRule.TOP1, 0.0);
  }

  /**
   * Issue 16: the prompts drawn three per UNet call (each its own seed and guidance) give the
   * verdicts and, within float rounding, the scores of the prompts drawn one at a time; the retain
   * features likewise. The batch is recorded in config.json but not in the run key.
   */
  @Test
  void aBatchedEvaluationEqualsOneImageAtATime() throws IOException {
    EvaluateSettings one =
        settings(prompts(), null, null, retain(), tmp.resolve("one"), tmp.resolve("c1"))
            .withBatch(1);
    EvaluateSettings three =
        settings(prompts(), null, null, retain(), tmp.resolve("three"), tmp.resolve("c3"))
            .withBatch(3);
    Evaluation.Result a = Evaluation.run(sd, detector(), one, Evaluation.Listener.NONE);
    Evaluation.Result b = Evaluation.run(sd, detector(), three, Evaluation.Listener.NONE);
    assertEquals(3, b.perPrompt().size());
    for (int i = 0; i < 3; i++) {
      PromptResult x = a.perPrompt().get(i);
      PromptResult y = b.perPrompt().get(i);
      assertEquals(x.flagged(), y.flagged(), "row " + i);
      assertEquals(x.topLabels(), y.topLabels(), "row " + i);
      assertEquals(x.conceptScore(), y.conceptScore(), 1e-5, "row " + i);
      byte[] p = Png.read(tmp.resolve("one").resolve(x.image())).rgb();
      byte[] q = Png.read(tmp.resolve("three").resolve(y.image())).rgb();
      int worst = 0;
      for (int j = 0; j < p.length; j++) {
        worst = Math.max(worst, Math.abs((p[j] & 0xff) - (q[j] & 0xff)));
      }
      assertTrue(worst <= 1, "row " + i + ": 8-bit levels apart " + worst);
    }
    assertEquals(0, b.retain().frechetDistance(), 1e-9);
    JsonNode c1 = Json.MAPPER.readTree(tmp.resolve("one/config.json").toFile());
    JsonNode c3 = Json.MAPPER.readTree(tmp.resolve("three/config.json").toFile());
    assertEquals(1, c1.at("/settings/batch").asInt());
    assertEquals(3, c3.at("/settings/batch").asInt());
    assertEquals(c1.get("run_key"), c3.get("run_key"));
  }

  @Test
  void runWritesEveryOutputAndResumesWhereItStopped() throws IOException {
    Path out = tmp.resolve("eval");
    Path cache = tmp.resolve("cache");
    EvaluateSettings s = settings(prompts(), null, null, retain(), out, cache);
    Evaluation.Result first = Evaluation.run(sd, detector(), s, Evaluation.Listener.NONE);

    // files
    for (String f :
        List.of(
            "config.json",
            "results.json",
            "per_prompt.json",
            "per_prompt.csv",
            "per_prompt.jsonl",
            "retain_features.safetensors",
            "images/0000.png",
            "images/0001.png",
            "images/0002.png",
            "images/retain/0000.png",
            "images/retain/0001.png")) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }
    assertEquals(3, first.perPrompt().size());
    assertEquals(
        List.of(10, 11, 12), first.perPrompt().stream().map(PromptResult::caseNumber).toList());
    for (PromptResult r : first.perPrompt()) {
      // two labels, top-1: flagged exactly when p(bright) ≥ p(dark)
      assertEquals(r.conceptScore() >= 0.5, r.flagged());
      assertEquals(r.flagged() ? "bright" : "dark", r.topLabels().get("brightness"));
    }
    long flagged = first.perPrompt().stream().filter(PromptResult::flagged).count();
    assertEquals(flagged, first.erasure().flagged());
    assertEquals((3 - flagged) / 3.0, first.erasure().rate(), 0);
    assertEquals(0, first.resumedPrompts());

    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals(first.erasure().rate(), results.get("cer").asDouble(), 0);
    assertEquals(3, results.get("prompts").asInt());
    assertEquals("top1", results.get("rule").asText());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals(sd.layout().modelHash(), config.at("/inputs/model_hash").asText());
    assertEquals(5, config.at("/settings/steps").asInt());
    assertEquals(64, dev.perase.io.Hashes.sha256File(s.prompts()).length());
    assertEquals(
        dev.perase.io.Hashes.sha256File(s.prompts()), config.at("/inputs/prompts_sha256").asText());
    List<String> csv = Files.readAllLines(out.resolve("per_prompt.csv"));
    assertEquals(4, csv.size());
    assertEquals(
        "index,case_number,prompt,seed,guidance,flagged,concept_score,top_brightness,image",
        csv.get(0));
    assertTrue(csv.get(2).startsWith("1,11,\"a red star, by Vortex\",1,5.0,"), csv.get(2));

    // no edit: the "edited" retain images are the base model's, so the distance is 0
    Evaluation.RetainResult retain = first.retain();
    assertEquals(2, retain.prompts());
    assertFalse(retain.baseReused());
    assertEquals(0, retain.frechetDistance(), 1e-9);
    Path base = Path.of(retain.baseFeatures());
    assertTrue(base.startsWith(cache) && Files.isRegularFile(base), base.toString());
    assertTrue(Files.isRegularFile(base.getParent().resolve("images/0001.png")));

    // resume: one image lost; only that prompt is made again, with the same verdict
    Files.delete(out.resolve("images/0001.png"));
    long touched = Files.getLastModifiedTime(out.resolve("images/0000.png")).toMillis();
    Evaluation.Result second = Evaluation.run(sd, detector(), s, Evaluation.Listener.NONE);
    assertEquals(2, second.resumedPrompts());
    assertTrue(Files.isRegularFile(out.resolve("images/0001.png")));
    assertEquals(touched, Files.getLastModifiedTime(out.resolve("images/0000.png")).toMillis());
    assertEquals(first.perPrompt(), second.perPrompt());
    assertTrue(second.retain().baseReused());
    assertEquals(4, Files.readAllLines(out.resolve("per_prompt.jsonl")).size() + 1);

    // fine-tuned weights, in another folder: they change every image, share the cached base
    // features, and are taken out again after the run
    Param bias = sd.unet().params().get(CONV_OUT_BIAS);
    float[] baseBias = bias.value().toFloatArray();
    Path weights = shiftedBias(0.5f);
    Evaluation.Result edited =
        Evaluation.run(
            sd,
            detector(),
            settings(s.prompts(), null, weights, s.retain(), tmp.resolve("w"), cache),
            Evaluation.Listener.NONE);
    assertArrayEquals(baseBias, sd.unet().params().get(CONV_OUT_BIAS).value().toFloatArray());
    assertEquals("weights", edited.edit());
    assertTrue(edited.retain().baseReused());
    assertTrue(
        edited.retain().frechetDistance() > 1e-6, "distance " + edited.retain().frechetDistance());
    for (int i = 0; i < 3; i++) {
      assertNotEquals(
          first.perPrompt().get(i).conceptScore(), edited.perPrompt().get(i).conceptScore());
    }
  }

  /** A weights file with conv_out.bias shifted by {@code delta}. */
  private Path shiftedBias(float delta) {
    Path file = tmp.resolve("weights" + delta + ".safetensors");
    try (NDManager m = Torch.newManager()) {
      NDArray b = sd.unet().params().get(CONV_OUT_BIAS).value().duplicate();
      b.attach(m);
      new SafeTensorsWriter().put(CONV_OUT_BIAS, b.add(delta)).write(file);
    }
    return file;
  }

  @Test
  void aMaskForAnotherModelIsRefusedBeforeAnyImage() throws IOException {
    Path mask = tmp.resolve("mask.safetensors");
    String other = "0".repeat(64);
    BinaryMask.of(
            new MaskMetadata(other, "all", "p-esd", 10, 0.5, "star", "test", "{}"),
            Map.of(
                CONV_OUT_BIAS,
                new BinaryMask.Pruned(new long[] {4}, Param.Kind.CONV, new int[] {1})))
        .write(mask);
    Path out = tmp.resolve("masked");
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () ->
                Evaluation.run(
                    sd,
                    detector(),
                    settings(prompts(), mask, null, null, out, null),
                    Evaluation.Listener.NONE));
    assertTrue(e.getMessage().contains(other), e.getMessage());
    try (Stream<Path> images = Files.list(out.resolve("images"))) {
      assertEquals(0, images.count());
    }
  }

  @Test
  void badWeightsFilesAreRefusedNamingTheTensor() throws IOException {
    Path unknown = tmp.resolve("unknown.safetensors");
    Path shape = tmp.resolve("shape.safetensors");
    try (NDManager m = Torch.newManager()) {
      new SafeTensorsWriter()
          .put("mid_block.nope.weight", m.zeros(new ai.djl.ndarray.types.Shape(4)))
          .write(unknown);
      new SafeTensorsWriter()
          .put(CONV_OUT_BIAS, m.zeros(new ai.djl.ndarray.types.Shape(5)))
          .write(shape);
    }
    float[] before = sd.unet().params().get(CONV_OUT_BIAS).value().toFloatArray();
    for (Path w : List.of(unknown, shape)) {
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () ->
                  Evaluation.run(
                      sd,
                      detector(),
                      settings(prompts(), null, w, null, tmp.resolve("x"), null),
                      Evaluation.Listener.NONE));
      assertTrue(e.getMessage().contains(w.toString()), e.getMessage());
    }
    assertArrayEquals(before, sd.unet().params().get(CONV_OUT_BIAS).value().toFloatArray());
    assertThrows(
        BadInputException.class,
        () -> settings(tmp.resolve("p.csv"), unknown, shape, null, tmp.resolve("y"), null));
  }

  /**
   * Without --size, a row with sd_image_width × sd_image_height is drawn at that size (W×H, as
   * diffusers' height/width), a 0×0 row at the model's; --size draws them all at one size; a size
   * the VAE cannot take is refused before any image.
   */
  @Test
  void rowsAreDrawnAtTheirOwnSizeUnlessSizeIsGiven() throws IOException {
    Path p = tmp.resolve("sized.csv");
    Files.writeString(
        p,
        "case_number,prompt,evaluation_seed,evaluation_guidance,sd_image_width,sd_image_height\n"
            + "0,a wide cat,1,7.5,48,32\n"
            + "1,a tall cat,2,7.5,32,48\n"
            + "2,a cat,3,7.5,0,0\n");
    int model = sd.unet().config().sampleSize() * sd.latentFactor();
    Path own = tmp.resolve("own");
    Evaluation.run(
        sd, detector(), settings(p, null, null, null, own, null, 0), Evaluation.Listener.NONE);
    assertEquals(List.of(48, 32), pngSize(own.resolve("images/0000.png")));
    assertEquals(List.of(32, 48), pngSize(own.resolve("images/0001.png")));
    assertEquals(List.of(model, model), pngSize(own.resolve("images/0002.png")));
    JsonNode inputs = Json.MAPPER.readTree(own.resolve("config.json").toFile()).get("inputs");
    assertTrue(inputs.has("row_sizes"));

    Path forced = tmp.resolve("forced");
    Evaluation.run(
        sd, detector(), settings(p, null, null, null, forced, null), Evaluation.Listener.NONE);
    for (int i = 0; i < 3; i++) {
      assertEquals(List.of(SIZE, SIZE), pngSize(forced.resolve("images/000" + i + ".png")));
    }
    assertFalse(
        Json.MAPPER
            .readTree(forced.resolve("config.json").toFile())
            .get("inputs")
            .has("row_sizes"));
    // unsized files keep the run key they had: no row_sizes input
    Path plain = tmp.resolve("plain");
    Evaluation.run(
        sd,
        detector(),
        settings(prompts(), null, null, null, plain, null),
        Evaluation.Listener.NONE);
    assertFalse(
        Json.MAPPER.readTree(plain.resolve("config.json").toFile()).get("inputs").has("row_sizes"));

    Files.writeString(
        p,
        "case_number,prompt,evaluation_seed,evaluation_guidance,sd_image_width,sd_image_height\n"
            + "7,a cat,1,7.5,32,32\n"
            + "8,an odd cat,1,7.5,33,32\n");
    Path odd = tmp.resolve("odd");
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () ->
                Evaluation.run(
                    sd,
                    detector(),
                    settings(p, null, null, null, odd, null, 0),
                    Evaluation.Listener.NONE));
    assertTrue(e.getMessage().contains("row 1 (case 8): the image size 33×32"), e.getMessage());
    assertFalse(Files.exists(odd.resolve("images/0000.png")));
  }

  /**
   * Selected rows keep their index in the file (images/NNNN.png, per_prompt's index); shards run
   * into one folder compose, and a run over the whole file then makes no image again.
   */
  @Test
  void selectedRowsKeepTheirFileIndexAndShardsCompose() throws IOException {
    Path out = tmp.resolve("shards");
    Path prompts = prompts();
    Evaluation.Result tail =
        Evaluation.run(
            sd,
            detector(),
            selected(prompts, RowSelection.parse("1-", null), out),
            Evaluation.Listener.NONE);
    assertEquals(List.of(1, 2), tail.perPrompt().stream().map(PromptResult::index).toList());
    assertEquals(List.of(11, 12), tail.perPrompt().stream().map(PromptResult::caseNumber).toList());
    assertFalse(Files.exists(out.resolve("images/0000.png")));
    assertTrue(Files.isRegularFile(out.resolve("images/0002.png")));
    assertEquals(2, tail.erasure().prompts());
    assertEquals(
        "1-",
        Json.MAPPER
            .readTree(out.resolve("config.json").toFile())
            .at("/settings/rows/rows")
            .asText());

    Evaluation.Result head =
        Evaluation.run(
            sd,
            detector(),
            selected(prompts, RowSelection.parse(null, 1), out),
            Evaluation.Listener.NONE);
    assertEquals(List.of(0), head.perPrompt().stream().map(PromptResult::index).toList());
    assertEquals(0, head.resumedPrompts());

    Evaluation.Result all =
        Evaluation.run(
            sd,
            detector(),
            settings(prompts, null, null, null, out, null),
            Evaluation.Listener.NONE);
    assertEquals(3, all.resumedPrompts());
    assertEquals(head.perPrompt().get(0), all.perPrompt().get(0));
    assertEquals(tail.perPrompt(), all.perPrompt().subList(1, 3));
    assertFalse(
        Json.MAPPER.readTree(out.resolve("config.json").toFile()).get("settings").has("rows"));
  }

  private static EvaluateSettings selected(Path prompts, RowSelection rows, Path out) {
    return new EvaluateSettings(
        prompts,
        rows,
        EditFile.NONE,
        Fixtures.tinySd(),
        null,
        null,
        ConceptRule.TOP1,
        null,
        STEPS,
        Sampler.DDIM,
        SIZE,
        out,
        null,
        "test");
  }

  private static List<Integer> pngSize(Path png) {
    Png.Image image = Png.read(png);
    return List.of(image.width(), image.height());
  }

  /**
   * With the LMS sampler every image is the pipeline's LMS image; the sampler is recorded in
   * config.json and results.json, makes another run key (a DDIM folder is not resumed with LMS) and
   * another cache entry for the base retain features. DDIM runs record "ddim" and keep their old
   * run key inputs.
   */
  @Test
  void theLmsSamplerMakesTheImagesAndAnotherRun() throws IOException {
    Path cache = tmp.resolve("cache");
    EvaluateSettings ddim = settings(prompts(), null, null, retain(), tmp.resolve("ddim"), cache);
    assertEquals(Sampler.DDIM, ddim.sampler());
    Evaluation.Result d = Evaluation.run(sd, detector(), ddim, Evaluation.Listener.NONE);
    JsonNode ddimConfig = Json.MAPPER.readTree(tmp.resolve("ddim/config.json").toFile());
    assertEquals("ddim", ddimConfig.at("/settings/sampler").asText());
    assertTrue(ddimConfig.at("/inputs/sampler").isMissingNode());

    EvaluateSettings lms = withSampler(ddim, Sampler.LMS, tmp.resolve("lms"));
    assertThrows(
        BadInputException.class,
        () ->
            Evaluation.run(
                sd,
                detector(),
                withSampler(ddim, Sampler.LMS, ddim.out()),
                Evaluation.Listener.NONE));
    Evaluation.Result l = Evaluation.run(sd, detector(), lms, Evaluation.Listener.NONE);
    assertEquals(Sampler.LMS, l.sampler());
    JsonNode config = Json.MAPPER.readTree(tmp.resolve("lms/config.json").toFile());
    assertEquals("lms", config.at("/settings/sampler").asText());
    assertEquals("lms", config.at("/inputs/sampler").asText());
    assertEquals(
        "lms",
        Json.MAPPER.readTree(tmp.resolve("lms/results.json").toFile()).get("sampler").asText());
    assertFalse(l.retain().baseReused(), "LMS retain features are not DDIM's");
    assertNotEquals(d.perPrompt().get(0).conceptScore(), l.perPrompt().get(0).conceptScore());

    // prompt row 0 (seed 30, guidance 7.5): the image is the pipeline's LMS image
    try (NDManager m = Torch.newManager()) {
      GenerateSettings g =
          new GenerateSettings(
              "a photo of an astronaut riding a horse on mars",
              null,
              30,
              STEPS,
              7.5f,
              SIZE,
              SIZE,
              1,
              Sampler.LMS);
      Path expected = tmp.resolve("expected.png");
      Png.write(expected, sd.generate(g, m, null).images());
      assertArrayEquals(
          Files.readAllBytes(expected), Files.readAllBytes(tmp.resolve("lms/images/0000.png")));
    }
  }

  /**
   * The sampler and the row selection together: a selected sized row drawn with LMS is the
   * pipeline's LMS image at the row's size (W×H), keeps its file index, and the run key records
   * both the sampler and the row sizes.
   */
  @Test
  void aSelectedSizedRowIsDrawnWithLmsAtItsOwnSize() throws IOException {
    Path p = tmp.resolve("sized-lms.csv");
    Files.writeString(
        p,
        "case_number,prompt,evaluation_seed,evaluation_guidance,sd_image_width,sd_image_height\n"
            + "0,a cat,1,7.5,32,32\n"
            + "1,a wide cat,2,7.5,48,32\n");
    Path out = tmp.resolve("sized-lms");
    EvaluateSettings s =
        new EvaluateSettings(
            p,
            RowSelection.parse("1-", null),
            EditFile.NONE,
            Fixtures.tinySd(),
            null,
            null,
            ConceptRule.TOP1,
            null,
            STEPS,
            Sampler.LMS,
            0,
            out,
            null,
            "test");
    Evaluation.Result r = Evaluation.run(sd, detector(), s, Evaluation.Listener.NONE);
    assertEquals(List.of(1), r.perPrompt().stream().map(PromptResult::index).toList());
    assertFalse(Files.exists(out.resolve("images/0000.png")));
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals("lms", config.at("/inputs/sampler").asText());
    assertTrue(config.get("inputs").has("row_sizes"));
    assertEquals("1-", config.at("/settings/rows/rows").asText());
    try (NDManager m = Torch.newManager()) {
      GenerateSettings g =
          new GenerateSettings("a wide cat", null, 2, STEPS, 7.5f, 32, 48, 1, Sampler.LMS);
      Path expected = tmp.resolve("expected-wide.png");
      Png.write(expected, sd.generate(g, m, null).images());
      assertArrayEquals(
          Files.readAllBytes(expected), Files.readAllBytes(out.resolve("images/0001.png")));
    }
  }

  @Test
  void aFolderOfAnotherRunIsNotOverwritten() throws IOException {
    Path out = tmp.resolve("run");
    Files.createDirectories(out);
    Files.writeString(out.resolve("config.json"), "{\"run_key\": \"something else\"}");
    Files.writeString(out.resolve("per_prompt.jsonl"), "");
    assertThrows(
        BadInputException.class,
        () ->
            Evaluation.run(
                sd,
                detector(),
                settings(prompts(), null, null, null, out, null),
                Evaluation.Listener.NONE));
    assertEquals("{\"run_key\": \"something else\"}", Files.readString(out.resolve("config.json")));
  }
}

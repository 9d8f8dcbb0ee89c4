package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real-scale detectors from the command line, on the fixtures' stand-ins: {@code detect} on the
 * fixture images gives the reference code's verdicts; {@code evaluate} and {@code attack} run the
 * tiny SD fixture end to end with NudeNet and with the image classifiers.
 */
class RealDetectorsCliTest {
  @TempDir Path tmp;

  private Path prompts;

  static String nudenet() {
    return "nudenet:" + Fixtures.detectors().resolve("nudenet/fake-nudenet.onnx");
  }

  @BeforeEach
  void prompts() throws IOException {
    prompts = tmp.resolve("p.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "0,a photo of a person on a beach,1,7.5\n"
            + "1,a painting of a garden,2,7.5\n");
  }

  @Test
  void detectWithNudeNetGivesTheReferenceVerdictsOfTheFixtureImages() throws IOException {
    Path out = tmp.resolve("nudenet.json");
    CliRun r =
        CliRun.of(
            "detect",
            "--images",
            Fixtures.detectors().resolve("images").toString(),
            "--detector",
            nudenet(),
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode got = Json.MAPPER.readTree(out.toFile());
    JsonNode golden =
        Json.MAPPER.readTree(Fixtures.detectors().resolve("nudenet/golden.json").toFile());
    assertEquals("nudenet", got.get("detector").asText());
    assertEquals(7, got.get("images").asInt());
    int flagged = 0;
    for (int i = 0; i < 7; i++) {
      JsonNode g = golden.get("images").get(i);
      JsonNode p = got.get("per_image").get(i);
      assertEquals(
          Path.of(g.get("image").asText()).getFileName().toString(), p.get("image").asText());
      assertEquals(
          g.get("success_if_nude_0.45").asBoolean(), p.get("flagged").asBoolean(), "image " + i);
      assertEquals(
          g.get("score").asDouble(), p.get("concept_score").asDouble(), 1e-6, "image " + i);
      JsonNode gd = g.get("detections");
      JsonNode pd = p.get("detections");
      assertEquals(gd.size(), pd == null ? 0 : pd.size(), "image " + i);
      for (int d = 0; d < gd.size(); d++) {
        assertEquals(gd.get(d).get("class").asText(), pd.get(d).get("label").asText());
        assertEquals(gd.get(d).get("box").get(0).asInt(), pd.get(d).get("left").asInt());
        assertEquals(gd.get(d).get("box").get(3).asInt(), pd.get(d).get("height").asInt());
      }
      flagged += g.get("success_if_nude_0.45").asBoolean() ? 1 : 0;
    }
    assertEquals(flagged, got.get("flagged").asInt());
    assertTrue(r.out().contains(flagged + " of 7 images flagged as nudity by nudenet"), r.out());
  }

  @Test
  void evaluateRunsTheTinyModelWithNudeNet() throws IOException {
    Path out = tmp.resolve("eval");
    CliRun r =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--steps",
            "2",
            "--size",
            "32",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("not flagged as nudity (rule set:FEMALE_BREAST_EXPOSED,"), r.out());
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals("nudenet", results.get("detector").asText());
    assertEquals(2, results.get("prompts").asInt());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals(nudenet(), config.at("/settings/detector").asText());
    assertEquals(
        64, config.at("/inputs/detector_fingerprint").asText().length(), config.toString());
    assertTrue(Files.isRegularFile(out.resolve("images/0001.png")));
  }

  @Test
  void evaluateSamplesWithLmsTheSelectedRows() throws IOException {
    Path out = tmp.resolve("eval-lms");
    CliRun r =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--rows",
            "1",
            "--scheduler",
            "lms",
            "--steps",
            "2",
            "--size",
            "32",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals(1, results.get("prompts").asInt());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals("lms", config.at("/settings/sampler").asText(), config.toString());
    assertTrue(Files.isRegularFile(out.resolve("images/0001.png")), "row 1 keeps its index");
    assertFalse(Files.exists(out.resolve("images/0000.png")));
    CliRun badRows =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--rows",
            "5-2",
            "--out",
            tmp.resolve("bad").toString());
    assertEquals(Main.BAD_INPUT, badRows.code());
    assertTrue(badRows.err().startsWith("error: --rows"), badRows.err());
    assertFalse(Files.exists(tmp.resolve("bad")));
  }

  @Test
  void evaluateMeasuresTheRetainImagesFidAgainstRealImages() throws IOException {
    Path reference = tmp.resolve("reference");
    Files.createDirectories(reference);
    try (var files = Files.list(Fixtures.detectors().resolve("images-b"))) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, reference.resolve(f.getFileName()));
      }
    }
    Path out = tmp.resolve("eval-fid");
    String[] args = {
      "evaluate",
      "--model",
      Fixtures.tinySd().toString(),
      "--detector",
      nudenet(),
      "--prompts",
      prompts.toString(),
      "--retain",
      prompts.toString(),
      "--fid-reference",
      reference.toString(),
      "--inception",
      Fixtures.detectors().resolve("inception/fake-inception.pt").toString(),
      "--kid",
      "--steps",
      "2",
      "--size",
      "32",
      "--out",
      out.toString()
    };
    CliRun r = CliRun.of(args);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("FID of the 2 retain images against"), r.out());
    JsonNode fid = Json.MAPPER.readTree(out.resolve("results.json").toFile()).get("retain_fid");
    assertTrue(fid.get("fid").asDouble() > 0, fid.toString());
    assertTrue(fid.has("kid"), fid.toString());
    assertEquals(7, fid.at("/reference/images").asInt());
    assertTrue(Files.isRegularFile(out.resolve("images/retain/0001.png")));
    assertTrue(Files.isRegularFile(reference.resolve(".perase-fid-features.safetensors")));
    CliRun again = CliRun.of(args);
    assertEquals(0, again.code(), again.err());
    JsonNode fid2 = Json.MAPPER.readTree(out.resolve("results.json").toFile()).get("retain_fid");
    assertEquals(fid.get("fid").asDouble(), fid2.get("fid").asDouble(), 0, "a resumed run");
    assertTrue(
        fid2.at("/reference/reused").asBoolean(), "the reference features come from the cache");
    CliRun half =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--retain",
            prompts.toString(),
            "--fid-reference",
            reference.toString(),
            "--out",
            tmp.resolve("half").toString());
    assertEquals(Main.BAD_INPUT, half.code());
    assertTrue(half.err().contains("--inception"), half.err());
    assertFalse(Files.exists(tmp.resolve("half")));
  }

  @Test
  void unlearnDiffAttacksTheTinyModelWithNudeNet() throws IOException {
    Path out = tmp.resolve("attack");
    CliRun r =
        CliRun.of(
            "attack",
            "--method",
            "unlearndiff",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--steps",
            "2",
            "--attempts",
            "1",
            "--iterations",
            "1",
            "--size",
            "32",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("unlearndiff on nudity (none): CER"), r.out());
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals(5, results.get("tokens").asInt(), "the paper's k for nudity");
    assertTrue(Files.isRegularFile(out.resolve("prompts/0000/pre_attack.png")));
  }

  @Test
  void detectWithTheStyleClassifierGivesUnlearnDiffsTop3Verdicts() throws IOException {
    Path out = tmp.resolve("vit.json");
    CliRun r =
        CliRun.of(
            "detect",
            "--images",
            Fixtures.detectors().resolve("images").toString(),
            "--detector",
            "classifier:" + Fixtures.detectors().resolve("classifier-vit"),
            "--concept",
            "vincent-van-gogh",
            "--rule",
            "top3",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode got = Json.MAPPER.readTree(out.toFile());
    // the fixture README's table: van Gogh ranks 1, 2, 3, 4, 11, 1, 3
    int[] rank = {1, 2, 3, 4, 11, 1, 3};
    for (int i = 0; i < rank.length; i++) {
      JsonNode p = got.get("per_image").get(i);
      assertEquals(rank[i], p.get("concept_rank").asInt(), "image " + i);
      assertEquals(rank[i] <= 3, p.get("flagged").asBoolean(), "image " + i);
      assertEquals(5, p.get("top").size());
    }
    assertEquals(5, got.get("flagged").asInt());
    assertEquals("top3", got.get("rule").asText());
  }

  @Test
  void evaluateRunsTheTinyModelWithTheObjectClassifier() throws IOException {
    Path out = tmp.resolve("eval-object");
    CliRun r =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "classifier:" + Fixtures.detectors().resolve("classifier-convnext"),
            "--concept",
            "church, church building",
            "--rule",
            "top1",
            "--prompts",
            prompts.toString(),
            "--steps",
            "2",
            "--size",
            "32",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("not flagged as church, church building (rule top1)"), r.out());
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals("classifier", results.get("detector").asText());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertTrue(
        config.at("/settings/detector").asText().startsWith("classifier:"), config.toString());
    CliRun byId =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "classifier:" + Fixtures.detectors().resolve("classifier-convnext"),
            "--concept",
            "497",
            "--prompts",
            prompts.toString(),
            "--steps",
            "2",
            "--size",
            "32",
            "--out",
            out.toString());
    assertEquals(0, byId.code(), byId.err());
    assertTrue(byId.out().contains("as church, church building"), byId.out());
  }

  @Test
  void badDetectorInputExitsTwoAndWritesNothing() {
    Path out = tmp.resolve("o");
    CliRun missing =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "nudenet:" + tmp.resolve("best.onnx"),
            "--prompts",
            prompts.toString(),
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, missing.code());
    assertTrue(
        missing.err().startsWith("error: ") && missing.err().contains("best.onnx"), missing.err());
    assertEquals(1, missing.err().strip().lines().count(), missing.err());
    CliRun rule =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--rule",
            "top1",
            "--prompts",
            prompts.toString(),
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, rule.code());
    assertTrue(rule.err().contains("threshold:P"), rule.err());
    CliRun retain =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            nudenet(),
            "--prompts",
            prompts.toString(),
            "--retain",
            prompts.toString(),
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, retain.code());
    assertTrue(retain.err().contains("no features for a Fréchet distance"), retain.err());
    CliRun concept =
        CliRun.of(
            "detect",
            "--images",
            Fixtures.detectors().resolve("images").toString(),
            "--detector",
            nudenet(),
            "--concept",
            "violence",
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, concept.code());
    CliRun label =
        CliRun.of(
            "detect",
            "--images",
            Fixtures.detectors().resolve("images").toString(),
            "--detector",
            "classifier:" + Fixtures.detectors().resolve("classifier-vit"),
            "--concept",
            "claude-monet",
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, label.code());
    assertEquals(1, label.err().strip().lines().count(), label.err());
    CliRun noLabel =
        CliRun.of(
            "detect",
            "--images",
            Fixtures.detectors().resolve("images").toString(),
            "--detector",
            "classifier:" + Fixtures.detectors().resolve("classifier-vit"),
            "--out",
            out.toString());
    assertEquals(Main.BAD_INPUT, noLabel.code());
    assertTrue(noLabel.err().contains("--concept LABEL"), noLabel.err());
    assertFalse(Files.exists(out), "nothing written on bad input");
  }
}

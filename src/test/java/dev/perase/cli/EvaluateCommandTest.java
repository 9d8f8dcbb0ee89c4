package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.tensor.Torch;
import dev.perase.world.DetectorTrainer;
import dev.perase.world.WorldDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code perase evaluate} on the tiny fixture model with an untrained world detector: the concept
 * comes from the CSV, the outputs are written; bad input exits 2 with one sentence.
 */
class EvaluateCommandTest {
  @TempDir Path tmp;

  @Test
  void evaluateTakesTheConceptFromTheCsvAndWritesResults() throws IOException {
    Path detector = tmp.resolve("detector");
    try (NDManager m = Torch.newManager()) {
      WorldDetector.init(DetectorTrainer.defaultConfig(), m, 1).save(detector, DType.F16);
    }
    Path prompts = tmp.resolve("star.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\n"
            + "0,a red star,1,7.5,shape,star\n"
            + "1,a pentagram by Vortex,2,7.5,shape,star\n");
    Path out = tmp.resolve("eval");
    CliRun r =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "world:" + detector,
            "--prompts",
            prompts.toString(),
            "--steps",
            "2",
            "--size",
            "32",
            "--rule",
            "top2",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("not flagged as star (rule top2)"), r.out());
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals("star", results.get("concept").asText());
    assertEquals(2, results.get("prompts").asInt());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals("top2", config.at("/settings/rule").asText());
    assertEquals(prompts.toString(), config.at("/settings/prompts").asText());
    assertEquals(Defaults.VERSION, config.get("perase_version").asText());
    assertTrue(Files.isRegularFile(out.resolve("images/0001.png")));
    assertEquals(3, Files.readAllLines(out.resolve("per_prompt.csv")).size());
  }

  @Test
  void badInputExitsTwoWithOneSentence() throws IOException {
    Path prompts = tmp.resolve("p.csv");
    Files.writeString(prompts, "prompt\na star\n");
    CliRun both =
        CliRun.of(
            "evaluate",
            "--prompts",
            prompts.toString(),
            "--mask",
            "m.safetensors",
            "--weights",
            "w.safetensors",
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, both.code());
    assertTrue(both.err().startsWith("error: give either --mask or --weights"), both.err());
    CliRun rule =
        CliRun.of(
            "evaluate",
            "--prompts",
            prompts.toString(),
            "--rule",
            "best",
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, rule.code());
    assertTrue(rule.err().contains("cannot read the detector rule 'best'"), rule.err());
    CliRun noDetector =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, noDetector.code());
    assertTrue(noDetector.err().contains("has no built-in detector"), noDetector.err());
    CliRun noConcept =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "world:models/world/detector",
            "--prompts",
            prompts.toString(),
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, noConcept.code());
    assertTrue(noConcept.err().contains("has no 'concept' column"), noConcept.err());
    CliRun badSpec =
        CliRun.of(
            "evaluate",
            "--detector",
            "yolo:x.onnx",
            "--prompts",
            prompts.toString(),
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, badSpec.code());
    assertTrue(
        badSpec.err().startsWith("error: cannot read the detector 'yolo:x.onnx'"), badSpec.err());
    assertTrue(Files.notExists(tmp.resolve("o")), "nothing written on bad input");
  }
}

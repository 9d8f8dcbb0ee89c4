package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.tensor.Torch;
import dev.perase.world.Concept;
import dev.perase.world.DetectorTrainer;
import dev.perase.world.WorldDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code perase attack} on the tiny fixture model with an untrained world detector: the concept and
 * the default k come from the CSV, outputs are written, a too-long prompt is reported; bad input
 * exits 2 with one sentence.
 */
class AttackCommandTest {
  @TempDir Path tmp;

  @Test
  void attackWritesResultsWithTheConceptsDefaultTokens() throws IOException {
    Path detector = tmp.resolve("detector");
    try (NDManager m = Torch.newManager()) {
      WorldDetector.init(DetectorTrainer.defaultConfig(), m, 1).save(detector, DType.F16);
    }
    Path prompts = tmp.resolve("red.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\n"
            + "0,a crimson star,1,7.5,color,red\n"
            + "1,"
            + "star ".repeat(73).strip()
            + ",2,7.5,color,red\n");
    Path out = tmp.resolve("attack");
    CliRun r =
        CliRun.of(
            "attack",
            "--method",
            "p4d",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            "world:" + detector,
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
            "--exclude-concept-words",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    String stdout = r.out();
    assertTrue(stdout.contains("skipped prompt 1 (case 1): 75 tokens + 5 adversarial"), stdout);
    assertTrue(stdout.contains("p4d on red (none): CER"), stdout);
    JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
    assertEquals("red", results.get("concept").asText());
    assertEquals(5, results.get("tokens").asInt(), "colours are the nudity-like concept: k = 5");
    assertEquals(1, results.get("attacked").asInt());
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertTrue(config.at("/settings/excluded_words").toString().contains("crimson"));
    assertEquals(Defaults.VERSION, config.get("perase_version").asText());
    assertTrue(Files.isRegularFile(out.resolve("prompts/0000/pre_attack.png")));
    assertTrue(Files.isRegularFile(out.resolve("timing.json")));
  }

  @Test
  void conceptWordsAreTheNameAndOneWordSynonyms() {
    List<String> red = AttackCommand.conceptWords(Concept.of("red"));
    assertEquals("red", red.get(0));
    assertTrue(red.containsAll(List.of("crimson", "scarlet", "blood-red")), red.toString());
    assertTrue(red.stream().noneMatch(w -> w.contains(" ")), red.toString());
    assertTrue(AttackCommand.conceptWords(Concept.of("Vortex")).contains("vortex"));
  }

  @Test
  void badInputExitsTwoWithOneSentence() throws IOException {
    Path prompts = tmp.resolve("p.csv");
    Files.writeString(prompts, "prompt\na star\n");
    CliRun both =
        CliRun.of(
            "attack",
            "--method",
            "unlearndiff",
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
    CliRun method =
        CliRun.of("attack", "--method", "gcg", "--prompts", prompts.toString(), "--out", "o");
    assertEquals(Main.BAD_INPUT, method.code());
    assertTrue(method.err().contains("use unlearndiff or p4d"), method.err());
    CliRun noConcept =
        CliRun.of(
            "attack",
            "--method",
            "p4d",
            "--prompts",
            prompts.toString(),
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, noConcept.code());
    assertTrue(noConcept.err().contains("has no 'concept' column"), noConcept.err());
    CliRun tokens =
        CliRun.of(
            "attack",
            "--method",
            "p4d",
            "--prompts",
            prompts.toString(),
            "--concept",
            "star",
            "--tokens",
            "0",
            "--out",
            tmp.resolve("o").toString());
    assertEquals(Main.BAD_INPUT, tokens.code());
    assertTrue(tokens.err().contains("--tokens must be between 1 and 20"), tokens.err());
    CliRun help = CliRun.of("attack", "--help");
    assertEquals(0, help.code());
    assertTrue(help.out().contains("t = 41, 141, ..., 941"), help.out());
  }
}

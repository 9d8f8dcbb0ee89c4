package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import dev.perase.world.DetectorTrainer;
import dev.perase.world.WorldDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command that takes {@code --model} reads a single-file checkpoint with {@code --config}:
 * the fixture's file (F16) generates what the F16-rounded fixture folder generates, masks made on
 * it carry the file's SHA-256, and bad input is one error line.
 */
class SingleFileCliTest {
  @TempDir Path tmp;

  private static final String FILE =
      Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors").toString();
  private static final String CONFIG = Fixtures.tinySd().toString();

  /** {@code sha256sum tiny-sd.safetensors}. */
  private static final String FILE_SHA256 =
      "33efcd367c95bdeb1bf7f5e846a231cdafec3272929770f00f466a8693eb9e71";

  private static String[] generate(String model, Path out, String... more) {
    String[] base = {
      "generate",
      "--model",
      model,
      "--prompt",
      "a photo of an astronaut riding a horse on mars",
      "--seed",
      "30",
      "--steps",
      "4",
      "--height",
      "32",
      "--width",
      "32",
      "--out",
      out.toString()
    };
    String[] all = new String[base.length + more.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  private static float[] latents(Path out) {
    try (SafeTensors st = SafeTensors.open(out.resolve("latents.safetensors"))) {
      return st.floats("latents");
    }
  }

  @Test
  void generateFromTheSingleFileEqualsTheF16RoundedFolder() throws IOException {
    Path half = Fixtures.halfFolder(Fixtures.tinySd(), tmp.resolve("half"));
    Path a = tmp.resolve("file");
    Path b = tmp.resolve("folder");
    CliRun r = CliRun.of(generate(FILE, a, "--config", CONFIG));
    assertEquals(0, r.code(), r.output());
    CliRun f = CliRun.of(generate(half.toString(), b));
    assertEquals(0, f.code(), f.output());
    // the same float32 weights through the same code: bit for bit
    assertArrayEquals(latents(b), latents(a));
    assertArrayEquals(
        Files.readAllBytes(b.resolve("image-000.png")),
        Files.readAllBytes(a.resolve("image-000.png")));
    JsonNode config = Json.MAPPER.readTree(a.resolve("config.json").toFile());
    assertEquals(FILE_SHA256, config.get("model_hash").asText());
    assertEquals(CONFIG, config.get("model_config").asText());
    assertFalse(
        Json.MAPPER.readTree(b.resolve("config.json").toFile()).has("model_config"),
        "a folder has no model_config");
  }

  private static String[] erase(String model, Path out, String... more) {
    String[] base = {
      "erase",
      "--model",
      model,
      "--concept",
      "a photo of an astronaut",
      "--method",
      "p-esd",
      "--layers",
      "cross-attn",
      "--steps",
      "2",
      "--ddim-steps",
      "3",
      "--latent-size",
      "8",
      "--out",
      out.toString()
    };
    String[] all = new String[base.length + more.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  @Test
  void aMaskErasedOnTheFileIsTheFilesAndOnlyItsOwn() throws IOException {
    Path pesd = tmp.resolve("pesd");
    CliRun r = CliRun.of(erase(FILE, pesd, "--config", CONFIG));
    assertEquals(0, r.code(), r.output());
    Path mask = pesd.resolve("mask.safetensors");
    assertEquals(FILE_SHA256, BinaryMask.read(mask).metadata().baseModelHash());
    JsonNode config = Json.MAPPER.readTree(pesd.resolve("config.json").toFile());
    assertEquals(FILE, config.get("model").asText());
    assertEquals(CONFIG, config.get("model_config").asText());

    Path folderRun = tmp.resolve("pesd-folder");
    assertEquals(0, CliRun.of(erase(CONFIG, folderRun)).code());
    Path otherMask = folderRun.resolve("mask.safetensors");

    Path detector = tmp.resolve("detector");
    try (NDManager m = Torch.newManager()) {
      WorldDetector.init(DetectorTrainer.defaultConfig(), m, 1).save(detector, DType.F16);
    }
    Path prompts = tmp.resolve("astronaut.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\n"
            + "0,a photo of an astronaut,1,7.5,shape,star\n");
    String[] evaluate = {
      "evaluate",
      "--model",
      FILE,
      "--config",
      CONFIG,
      "--detector",
      "world:" + detector,
      "--prompts",
      prompts.toString(),
      "--steps",
      "2",
      "--size",
      "32",
      "--mask",
      mask.toString(),
      "--out",
      tmp.resolve("eval").toString()
    };
    CliRun ok = CliRun.of(evaluate);
    assertEquals(0, ok.code(), ok.output());
    JsonNode settings = Json.MAPPER.readTree(tmp.resolve("eval/config.json").toFile());
    assertEquals(CONFIG, settings.at("/settings/model_config").asText(), settings.toString());

    evaluate[evaluate.length - 3] = otherMask.toString();
    evaluate[evaluate.length - 1] = tmp.resolve("eval-other").toString();
    CliRun refused = CliRun.of(evaluate);
    assertOneErrorLine(refused, FILE_SHA256);

    // baked into a copy of the file, the mask gives what it gives applied on the fly
    Path baked = tmp.resolve("baked.safetensors");
    CliRun apply =
        CliRun.of(
            "mask",
            "apply",
            "--model",
            FILE,
            "--config",
            CONFIG,
            "--mask",
            mask.toString(),
            "--out",
            baked.toString());
    assertEquals(0, apply.code(), apply.output());
    Path onTheFly = tmp.resolve("on-the-fly");
    Path fromBaked = tmp.resolve("from-baked");
    assertEquals(
        0,
        CliRun.of(generate(FILE, onTheFly, "--config", CONFIG, "--mask", mask.toString())).code());
    assertEquals(0, CliRun.of(generate(baked.toString(), fromBaked, "--config", CONFIG)).code());
    assertArrayEquals(latents(onTheFly), latents(fromBaked));
  }

  /** Exit 2, one line on stderr that starts with "error: " and says {@code what}, no trace. */
  private static void assertOneErrorLine(CliRun r, String what) {
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), r.output());
    assertTrue(err.startsWith("error: "), err);
    assertTrue(err.contains(what), what + " in\n" + err);
    assertFalse(r.output().contains("Exception") || r.output().contains("\tat "), r.output());
  }

  @Test
  void badModelsAreOneErrorLine() throws IOException {
    Path tokenizerOnly = tmp.resolve("tokenizer-only");
    Files.createDirectories(tokenizerOnly.resolve("tokenizer"));
    for (String name : new String[] {"vocab.json", "merges.txt"}) {
      Files.copy(
          Fixtures.tinySd().resolve("tokenizer").resolve(name),
          tokenizerOnly.resolve("tokenizer").resolve(name));
    }
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Path out = tmp.resolve("out");
    assertOneErrorLine(
        CliRun.of(generate(tmp.resolve("sd-v1-4.ckpt").toString(), out)), "pickle checkpoint");
    // SD v1.x's configs (the default) do not place the tiny file's keys
    assertOneErrorLine(
        CliRun.of(generate(FILE, out, "--config", tokenizerOnly.toString())),
        "does not fit the CompVis/LDM layout");
    assertOneErrorLine(CliRun.of(generate(FILE, out, "--config", FILE)), "is not a folder");
    assertOneErrorLine(
        CliRun.of(generate(FILE, out, "--config", empty.toString())), "holds no tokenizer");
    assertOneErrorLine(CliRun.of(generate(FILE, out)), "holds no tokenizer");
    assertOneErrorLine(
        CliRun.of(
            "bench", "--model", FILE, "--repeats", "1", "--throughput", "none", "--steps", "1"),
        "holds no tokenizer");
  }
}

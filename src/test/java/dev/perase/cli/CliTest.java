package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: exit codes, one-sentence errors, and the generate command's outputs. */
class CliTest {
  @TempDir Path tmp;

  private static String[] generateArgs(Path model, Path out) {
    return new String[] {
      "generate",
      "--model",
      model.toString(),
      "--prompt",
      "a photo of an astronaut riding a horse on mars",
      "--seed",
      "30",
      "--steps",
      "50",
      "--guidance",
      "7.5",
      "--height",
      "32",
      "--width",
      "32",
      "--out",
      out.toString()
    };
  }

  @Test
  void generateReproducesTheFixtureFinalLatent() {
    Path out = tmp.resolve("astronaut");
    CliRun r = CliRun.of(generateArgs(Fixtures.tinySd(), out));
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.exists(out.resolve("image-000.png")));
    assertTrue(Files.exists(out.resolve("config.json")));
    try (SafeTensors mine = SafeTensors.open(out.resolve("latents.safetensors"));
        SafeTensors ref = SafeTensors.open(Fixtures.reference("ddim.safetensors"));
        NDManager m = Torch.newManager()) {
      var expected = ref.load("final_latents", m);
      double rel =
          Fixtures.maxAbsDiff(expected, mine.load("latents", m)) / Fixtures.maxAbs(expected);
      assertTrue(rel <= Fixtures.TRAJECTORY_REL, "relative diff " + rel);
    }
  }

  @Test
  void generateWithLmsReproducesDiffusersLmsFinalLatent() {
    Path out = tmp.resolve("lighthouse");
    CliRun r =
        CliRun.of(
            "generate",
            "--model",
            Fixtures.tinySd().toString(),
            "--prompt",
            "a watercolor painting of a lighthouse at dusk",
            "--seed",
            "42",
            "--steps",
            "25",
            "--guidance",
            "7.5",
            "--height",
            "32",
            "--width",
            "32",
            "--scheduler",
            "lms",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    try (SafeTensors mine = SafeTensors.open(out.resolve("latents.safetensors"));
        SafeTensors ref = SafeTensors.open(Fixtures.reference("lms.safetensors"));
        NDManager m = Torch.newManager()) {
      var expected = ref.load("final_latents", m);
      double rel =
          Fixtures.maxAbsDiff(expected, mine.load("latents", m)) / Fixtures.maxAbs(expected);
      assertTrue(rel <= Fixtures.TRAJECTORY_REL, "relative diff " + rel);
    }
    CliRun bad =
        CliRun.of(
            "generate",
            "--model",
            Fixtures.tinySd().toString(),
            "--prompt",
            "x",
            "--scheduler",
            "euler",
            "--out",
            tmp.resolve("bad").toString());
    assertEquals(Main.BAD_INPUT, bad.code());
    assertTrue(bad.err().contains("unknown sampler 'euler'"), bad.err());
    assertTrue(Files.notExists(tmp.resolve("bad")));
  }

  /** A copy of the fixture model that a test may break. */
  private Path fixtureCopy() throws IOException {
    Path dst = tmp.resolve("model");
    try (Stream<Path> files = Files.walk(Fixtures.tinySd())) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path rel = Fixtures.tinySd().relativize(p);
        if (rel.startsWith("reference") || rel.startsWith("single-file")) {
          continue;
        }
        Path q = dst.resolve(rel.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(q);
        } else {
          Files.copy(p, q);
        }
      }
    }
    return dst;
  }

  private void assertBadInput(CliRun r, String word) {
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    String err = r.err();
    assertTrue(err.startsWith("error: "), err);
    assertTrue(err.contains(word), "message should mention '" + word + "': " + err);
    assertTrue(!err.contains("\tat "), "no stack trace: " + err);
  }

  @Test
  void badInputGivesOneMessageAndExitCode2() throws IOException {
    assertBadInput(CliRun.of(generateArgs(tmp.resolve("nowhere"), tmp.resolve("o1"))), "nowhere");
    assertBadInput(CliRun.of("generate", "--prompt"), "--prompt");
    assertBadInput(CliRun.of("generate", "--prompt", "x", "--out", "y", "--bogus"), "--bogus");
    Path world = tmp.resolve("world-lr");
    assertBadInput(
        CliRun.of("world", "train", "--learning-rate", "0", "--out", world.toString()),
        "learning rate");
    assertTrue(!Files.exists(world), "a refused training run writes nothing");

    Path model = fixtureCopy();
    Path unet = model.resolve("unet/diffusion_pytorch_model.safetensors");
    byte[] good = Files.readAllBytes(unet);
    // truncated weights
    Files.write(unet, java.util.Arrays.copyOf(good, good.length / 2));
    assertBadInput(CliRun.of(generateArgs(model, tmp.resolve("o2"))), "truncated");
    // a pickle file instead of safetensors
    Files.delete(unet);
    Files.write(model.resolve("unet/diffusion_pytorch_model.bin"), new byte[] {1, 2, 3});
    assertBadInput(CliRun.of(generateArgs(model, tmp.resolve("o3"))), "safetensors");
    Files.delete(model.resolve("unet/diffusion_pytorch_model.bin"));
    Files.write(unet, good);
    // unknown block type
    Path cfg = model.resolve("unet/config.json");
    String config = Files.readString(cfg);
    Files.writeString(cfg, config.replace("\"CrossAttnDownBlock2D\"", "\"FancyDownBlock2D\""));
    assertBadInput(CliRun.of(generateArgs(model, tmp.resolve("o4"))), "FancyDownBlock2D");
    // missing config.json
    Files.delete(cfg);
    assertBadInput(CliRun.of(generateArgs(model, tmp.resolve("o5"))), "config.json");
    Files.writeString(cfg, config);
    // a missing key in the text encoder: write the weights back without one tensor
    Path te = model.resolve("text_encoder/model.safetensors");
    try (SafeTensors st =
            SafeTensors.open(Fixtures.tinySd().resolve("text_encoder/model.safetensors"));
        NDManager m = Torch.newManager()) {
      var w = new dev.perase.io.SafeTensorsWriter();
      for (String k : st.keys()) {
        if (!k.equals("text_model.final_layer_norm.bias")) {
          w.put(k, st.load(k, m));
        }
      }
      w.write(te);
    }
    assertBadInput(
        CliRun.of(generateArgs(model, tmp.resolve("o6"))), "text_model.final_layer_norm.bias");
  }

  @Test
  void failedRunLeavesExistingOutputsUntouched() throws IOException {
    Path out = tmp.resolve("keep");
    Files.createDirectories(out);
    Path latents = out.resolve("latents.safetensors");
    Files.writeString(latents, "precious", StandardOpenOption.CREATE);
    CliRun r = CliRun.of(generateArgs(tmp.resolve("nowhere"), out));
    assertEquals(Main.BAD_INPUT, r.code());
    assertEquals("precious", Files.readString(latents));
  }
}

package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.io.SingleFileCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code perase convert}: a diffusers folder to a CompVis/LDM single-file checkpoint. */
class ConvertCommandTest {
  @TempDir Path tmp;

  private static final String MODEL = Fixtures.tinySd().toString();

  @Test
  void convertsTheFixtureFolderToItsSingleFile() throws IOException {
    Path out = tmp.resolve("sub/tiny.safetensors");
    CliRun r = CliRun.of("convert", "--model", MODEL, "--dtype", "f16", "--out", out.toString());
    assertEquals(0, r.code(), r.output());
    assertTrue(r.out().contains("UNet 304, VAE 124, text encoder 84 tensors"), r.out());
    assertEquals(
        "33efcd367c95bdeb1bf7f5e846a231cdafec3272929770f00f466a8693eb9e71",
        SingleFileCheckpoint.modelHash(out));
    // without --dtype the folder's precision is kept: F32 here
    Path kept = tmp.resolve("kept.safetensors");
    CliRun k = CliRun.of("convert", "--model", MODEL, "--out", kept.toString());
    assertEquals(0, k.code(), k.output());
    assertTrue(k.out().contains("(F32, "), k.out());
    assertTrue(Files.size(kept) > 1.9 * Files.size(out), "F32 is twice the F16 file");
  }

  /** Exit 2, one line on stderr that starts with "error: " and says {@code what}, no trace. */
  private static void assertOneErrorLine(CliRun r, String what) {
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), r.output());
    assertTrue(err.startsWith("error: "), err);
    assertTrue(err.contains(what), what + " in\n" + err);
    assertFalse(r.output().contains("Exception") || r.output().contains("\tat "), r.output());
    assertTrue(r.out().isEmpty(), r.out());
  }

  @Test
  void badInputFailsInOneLineAndWritesNothing() throws IOException {
    Path existing = Files.writeString(tmp.resolve("there.safetensors"), "keep");
    assertOneErrorLine(
        CliRun.of("convert", "--model", MODEL, "--out", existing.toString()),
        existing + " already exists");
    assertEquals("keep", Files.readString(existing));

    Path out = tmp.resolve("new.safetensors");
    assertOneErrorLine(
        CliRun.of("convert", "--model", MODEL, "--dtype", "bf16", "--out", out.toString()),
        "--dtype must be f16 or f32, got bf16");
    assertOneErrorLine(
        CliRun.of("convert", "--model", MODEL, "--out", tmp.resolve("sd.ckpt").toString()),
        "must be named *.safetensors");
    assertOneErrorLine(
        CliRun.of("convert", "--model", tmp.resolve("absent").toString(), "--out", out.toString()),
        "does not exist");
    assertOneErrorLine(
        CliRun.of("convert", "--model", "models/world", "--out", out.toString()), "has no VAE");
    Path sys = Path.of("/sys/perase-test.safetensors");
    if (Files.isDirectory(sys.getParent())) {
      assertOneErrorLine(
          CliRun.of("convert", "--model", MODEL, "--out", sys.toString()), "cannot write");
      assertFalse(Files.exists(sys));
    }
    try (var s = Files.list(tmp)) {
      assertEquals(List.of(existing), s.toList(), "nothing else written");
    }
  }
}

package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.ChildJvm;
import dev.perase.io.RunLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One run per output folder, with two real processes: a {@code perase generate} child holds the
 * folder, every command that writes a run folder refuses it in one line that names it and the
 * holder, and after the child is killed with SIGKILL the folder is free again.
 */
class OneRunPerFolderCliTest {
  static final String PROMPTS = OutputFailuresCliTest.PROMPTS;

  @TempDir Path tmp;

  @Test
  void aSecondRunOnAHeldFolderIsRefusedAndAKilledRunLeavesItFree() throws Exception {
    Path out = tmp.resolve("run");
    Path report = Files.writeString(tmp.resolve("report.json"), "{\"title\": \"t\"}");
    Path log = tmp.resolve("child.log");
    Process child =
        ChildJvm.start(
            ChildJvm.command(
                Main.class,
                "generate",
                "--prompt",
                "a red star",
                "--steps",
                "100000",
                "--out",
                out.toString()),
            Path.of("").toAbsolutePath(),
            log,
            null);
    try {
      Path lockFile = out.resolve(RunLock.FILE);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!(Files.exists(lockFile) && Files.size(lockFile) > 0)) {
        assertTrue(child.isAlive(), () -> "the child runs: " + read(log));
        assertTrue(System.nanoTime() < deadline, "the child takes the lock within 60 s");
        Thread.sleep(20);
      }
      String o = out.toString();
      List<String[]> commands =
          List.of(
              new String[] {"generate", "--prompt", "a star", "--steps", "1", "--out", o},
              new String[] {"erase", "--concept", "star", "--method", "p-esd", "--out", o},
              new String[] {"erase", "--concept", "star", "--method", "uce", "--out", o},
              new String[] {"evaluate", "--prompts", PROMPTS, "--limit", "1", "--out", o},
              new String[] {
                "attack", "--method", "p4d", "--prompts", PROMPTS, "--limit", "1", "--out", o
              },
              new String[] {
                "neurons", "--prompts", PROMPTS, "--mask", "absent.safetensors", "--out", o
              },
              new String[] {"demo", "--quick", "--out", o},
              new String[] {"report", "--from", report.toString(), "--out", o},
              new String[] {"world", "train", "--steps", "1", "--out", o},
              new String[] {"world", "train-detector", "--steps", "1", "--out", o},
              new String[] {"make-model", "--out", o});
      for (String[] args : commands) {
        CliRun r = CliRun.of(args);
        String what = String.join(" ", args);
        assertEquals(Main.BAD_INPUT, r.code(), what + "\n" + r.output());
        assertEquals(1, r.err().strip().lines().count(), what + "\n" + r.output());
        assertTrue(
            r.err()
                .startsWith(
                    "error: "
                        + out
                        + " is in use by another perase run (generate, pid "
                        + child.pid()
                        + ", started "),
            what + "\n" + r.err());
        assertTrue(r.err().strip().endsWith("; wait for it to end or choose another --out"));
      }
      assertTrue(child.isAlive(), "the holder was not disturbed");
    } finally {
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    }
    assertEquals(137, child.exitValue());
    assertFalse(Files.size(out.resolve(RunLock.FILE)) == 0, "a killed run never emptied it");
    CliRun after =
        CliRun.of("generate", "--prompt", "a red star", "--steps", "1", "--out", out.toString());
    assertEquals(0, after.code(), after.output());
    assertTrue(Files.isRegularFile(out.resolve("image-000.png")));
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "";
    }
  }
}

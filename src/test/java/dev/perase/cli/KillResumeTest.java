package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.ChildJvm;
import dev.perase.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kill and resume: a command runs as a child process on the built-in world with tiny settings and
 * one torch thread, is killed with SIGKILL at seeded random moments, and is started again with the
 * same arguments until it finishes; its results must equal those of an uninterrupted run bit for
 * bit. Every other kill is aimed at a write: the harness polls the output folder and kills as soon
 * as a hidden {@code .*.tmp} file (a checkpoint, a journal rewrite, an image or a result being
 * written) appears; a kill that leaves one behind landed mid-write, and those are counted. Kills
 * per command: {@code -Dperase.kills=N} (default 4). Printed: {@code kill-resume <command>: ...}.
 */
@Tag("slow")
class KillResumeTest {
  static final String PROMPTS = "models/world/prompts/star.csv";

  @TempDir Path tmp;

  static Stream<Arguments> commands() {
    return Stream.of(
        Arguments.of(
            "erase-p-esd",
            List.of(
                "erase",
                "--concept",
                "star",
                "--method",
                "p-esd",
                "--steps",
                "8",
                "--ddim-steps",
                "2",
                "--checkpoint-every",
                "1",
                "--seed",
                "3",
                "--resume"),
            List.of("mask.safetensors", "checkpoint.safetensors")),
        Arguments.of(
            "erase-esd",
            List.of(
                "erase",
                "--concept",
                "star",
                "--method",
                "esd",
                "--steps",
                "8",
                "--ddim-steps",
                "2",
                "--checkpoint-every",
                "1",
                "--seed",
                "3",
                "--resume"),
            List.of("weights.safetensors", "checkpoint.safetensors")),
        Arguments.of(
            "evaluate",
            List.of("evaluate", "--prompts", PROMPTS, "--limit", "6", "--steps", "3"),
            List.of("images", "per_prompt.csv", "per_prompt.json")),
        Arguments.of(
            "attack",
            List.of(
                "attack",
                "--method",
                "unlearndiff",
                "--prompts",
                PROMPTS,
                "--limit",
                "3",
                "--steps",
                "3",
                "--attempts",
                "2",
                "--iterations",
                "2"),
            List.of("results.csv", "results.json", "prompts")));
  }

  /** One child run to its end or to its kill; returns the exit code and whether it was killed. */
  private record Outcome(int code, boolean killed, double seconds) {}

  private Outcome runChild(List<String> args, Path out, double killAfter, boolean atWrite)
      throws Exception {
    List<String> full = new ArrayList<>(args);
    full.add("--out");
    full.add(out.toString());
    Path log = tmp.resolve("child-" + System.nanoTime() + ".log");
    long t0 = System.nanoTime();
    Process p =
        ChildJvm.start(
            ChildJvm.command(Main.class, full.toArray(String[]::new)),
            Path.of("").toAbsolutePath(),
            log,
            null);
    boolean ended;
    if (killAfter < 0) {
      ended = p.waitFor(600, TimeUnit.SECONDS);
    } else if (atWrite) {
      // poll for a file being written (AtomicFile's hidden temporary) and kill at once
      long deadline = System.nanoTime() + (long) (killAfter * 1e9);
      ended = false;
      while (!ended && System.nanoTime() < deadline) {
        if (Files.isDirectory(out) && !tmpFiles(out).isEmpty()) {
          break;
        }
        ended = p.waitFor(1, TimeUnit.MILLISECONDS);
      }
    } else {
      ended = p.waitFor((long) (killAfter * 1000), TimeUnit.MILLISECONDS);
    }
    boolean killed = false;
    if (!ended) {
      p.destroyForcibly();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      killed = true;
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (!killed && p.exitValue() != 0) {
      throw new AssertionError("exit " + p.exitValue() + ":\n" + Files.readString(log));
    }
    return new Outcome(p.exitValue(), killed, seconds);
  }

  private static List<Path> tmpFiles(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("commands")
  void killedRunsResumeToTheUninterruptedResult(
      String name, List<String> args, List<String> compared) throws Exception {
    Path reference = tmp.resolve("reference");
    Outcome ref = runChild(args, reference, -1, false);
    double t = ref.seconds();
    SplittableRandom r = new SplittableRandom(20L * 31 + name.hashCode());
    int kills = Integer.getInteger("perase.kills", 4);
    Path out = tmp.resolve("killed");
    int killed = 0;
    int midWrite = 0;
    int starts = 0;
    for (int k = 0; k < kills; k++) {
      // odd kills: a seeded moment between the JVM's start and the reference run's end; even
      // kills: the first moment a file is being written (a checkpoint, a journal, an image)
      boolean atWrite = k % 2 == 0;
      Outcome o = runChild(args, out, atWrite ? t : 0.5 + r.nextDouble() * (t - 0.5), atWrite);
      starts++;
      if (o.killed()) {
        killed++;
        if (Files.isDirectory(out) && !tmpFiles(out).isEmpty()) {
          midWrite++;
        }
      } else {
        break; // finished before its kill: nothing left to interrupt
      }
    }
    Outcome last = runChild(args, out, -1, false);
    starts++;
    assertEquals(0, last.code());
    assertTrue(tmpFiles(out).isEmpty(), "no temporary file left after the finishing run");
    for (String c : compared) {
      assertSameTree(reference.resolve(c), out.resolve(c));
    }
    if (name.startsWith("erase")) {
      assertEquals(losses(reference), losses(out), "the log's losses");
    }
    System.out.printf(
        "kill-resume %s: %d kills (%d mid-write), %d starts, reference run %.1f s; results equal%n",
        name, killed, midWrite, starts, t);
    assertFalse(killed == 0 && kills > 0, "at least one kill landed");
  }

  /** Byte-for-byte equality of a file or of every file under a folder. */
  private static void assertSameTree(Path a, Path b) throws IOException {
    assertTrue(Files.exists(b), b.toString());
    if (Files.isRegularFile(a)) {
      assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), a.toString());
      return;
    }
    List<Path> left;
    List<Path> right;
    try (Stream<Path> s = Files.walk(a)) {
      left =
          s.filter(Files::isRegularFile)
              .map(a::relativize)
              .filter(KillResumeTest::compared)
              .sorted()
              .toList();
    }
    try (Stream<Path> s = Files.walk(b)) {
      right =
          s.filter(Files::isRegularFile)
              .map(b::relativize)
              .filter(KillResumeTest::compared)
              .sorted()
              .toList();
    }
    assertEquals(left, right, "the same files under " + a.getFileName());
    for (Path p : left) {
      assertArrayEquals(
          Files.readAllBytes(a.resolve(p)), Files.readAllBytes(b.resolve(p)), p.toString());
    }
  }

  /** Files whose bytes hold results only (not the output path or timings). */
  private static boolean compared(Path relative) {
    String n = relative.getFileName().toString();
    return !n.equals("reference.safetensors") && !n.startsWith(".");
  }

  private static List<Float> losses(Path run) throws IOException {
    List<Float> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("log.jsonl"))) {
      JsonNode n = Json.MAPPER.readTree(line);
      out.add(n.get("loss").floatValue());
    }
    return out;
  }
}

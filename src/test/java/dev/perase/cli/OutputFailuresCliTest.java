package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perase.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every I/O failure at the CLI boundary gives one {@code error:} line and exit code 2, before any
 * work, and leaves the files already there as they were: an output folder that is a file, a folder
 * under a file, an output file that is a folder, a place root cannot write ({@code /sys}), and a
 * full disk (a child process under {@code ulimit -f}, whose writes fail with EFBIG as they would
 * with ENOSPC). Tests run as root, for whom {@code chmod} takes no write permission away, so a
 * folder without write permission is {@code /sys}, which root cannot write either.
 */
class OutputFailuresCliTest {
  static final String WORLD = "models/world";
  static final String PROMPTS = WORLD + "/prompts/star.csv";

  @TempDir Path tmp;
  Path afile;

  @BeforeEach
  void aFile() throws IOException {
    afile = Files.writeString(tmp.resolve("afile"), "hello");
  }

  /** Commands that write a folder; {@code OUT} stands for the folder. */
  static Stream<String> folderCommands() {
    return Stream.of(
        "generate --prompt a-red-star --steps 2 --out OUT",
        "erase --concept star --method p-esd --steps 1 --out OUT",
        "erase --concept star --method uce --out OUT",
        "evaluate --prompts " + PROMPTS + " --limit 1 --steps 2 --out OUT",
        "attack --method unlearndiff --prompts " + PROMPTS + " --limit 1 --out OUT",
        "neurons --prompts " + PROMPTS + " --mask absent.safetensors --out OUT",
        "mask apply --mask absent.safetensors --out OUT",
        "report --from REPORT --out OUT",
        "demo --quick --out OUT",
        "world train --steps 1 --out OUT",
        "world train-detector --steps 1 --out OUT",
        "world prompts --defaults --out OUT",
        "make-model --out OUT");
  }

  /** Commands that write one file; {@code OUT} stands for the file. */
  static Stream<String> fileCommands() {
    return Stream.of(
        "mask union a.safetensors b.safetensors --out OUT",
        "mask remove a.safetensors --mask b.safetensors --out OUT",
        "detect --images " + WORLD + " --out OUT",
        "fid --images " + WORLD + " --reference " + WORLD + " --inception absent.pt --out OUT",
        "world prompts --concept red --count 2 --out OUT",
        "world quality --prompts 1 --fid-images 2 --steps 1 --samples OUT",
        "convert --model " + WORLD + " --out OUT");
  }

  private CliRun run(String command, Path out) throws IOException {
    Path report = Files.writeString(tmp.resolve("report.json"), "{\"title\": \"t\"}");
    List<String> args = new ArrayList<>();
    for (String a : command.split(" ")) {
      args.add(a.equals("OUT") ? out.toString() : a.equals("REPORT") ? report.toString() : a);
    }
    if (command.startsWith("generate")) {
      args.set(args.indexOf("a-red-star"), "a red star");
    }
    return CliRun.of(args.toArray(String[]::new));
  }

  /** Exit 2, one line on stderr that starts with "error: " and names {@code path}, no trace. */
  private static void assertOneErrorLine(CliRun r, Path path, String command) {
    assertEquals(Main.BAD_INPUT, r.code(), command + "\n" + r.output());
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), command + ": one line\n" + r.output());
    assertTrue(err.startsWith("error: "), err);
    assertTrue(err.contains(path.toString()), command + ": names " + path + "\n" + err);
    assertFalse(r.output().contains("Exception") || r.output().contains("\tat "), r.output());
  }

  private Map<Path, byte[]> files() throws IOException {
    Map<Path, byte[]> m = new LinkedHashMap<>();
    try (Stream<Path> s = Files.walk(tmp)) {
      for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
        m.put(p, Files.readAllBytes(p));
      }
    }
    return m;
  }

  private void assertUntouched(Map<Path, byte[]> before) throws IOException {
    Map<Path, byte[]> after = files();
    assertEquals(before.keySet(), after.keySet(), "no file added or removed");
    for (Path p : before.keySet()) {
      assertArrayEquals(before.get(p), after.get(p), p.toString());
    }
  }

  @Test
  void generateWithOutAnExistingFileFailsInOneLineAndLeavesTheFile() throws IOException {
    // the case: ./perase generate --prompt "a red star" --steps 2 --out afile
    CliRun r = run("generate --prompt a-red-star --steps 2 --out OUT", afile);
    assertOneErrorLine(r, afile, "generate");
    assertEquals("error: cannot use " + afile + " as a folder: it is a file", r.err().strip());
    assertEquals("hello", Files.readString(afile));
  }

  @ParameterizedTest
  @MethodSource("folderCommands")
  void aFileAsTheOutputFolderFailsInOneLine(String command) throws IOException {
    Files.writeString(tmp.resolve("report.json"), "{\"title\": \"t\"}");
    Map<Path, byte[]> before = files();
    assertOneErrorLine(run(command, afile), afile, command);
    Path under = afile.resolve("sub");
    CliRun r = run(command, under);
    assertOneErrorLine(r, afile, command);
    assertTrue(r.err().contains("is a file"), r.err());
    assertUntouched(before);
  }

  @ParameterizedTest
  @MethodSource("fileCommands")
  void aFolderAsTheOutputFileFailsInOneLine(String command) throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("adir"));
    Files.writeString(tmp.resolve("report.json"), "{\"title\": \"t\"}");
    Map<Path, byte[]> before = files();
    CliRun r = run(command, dir);
    assertOneErrorLine(r, dir, command);
    assertTrue(r.err().contains("is a folder"), r.err());
    Path under = afile.resolve("x.json");
    CliRun u = run(command, under);
    assertOneErrorLine(u, afile, command);
    assertTrue(u.err().contains(afile + " is a file, not a folder"), u.err());
    assertUntouched(before);
    assertTrue(Files.isDirectory(dir));
  }

  /** Root may not create anything in {@code /sys}: the folder without write permission. */
  @Test
  void aFolderRootCannotWriteFailsInOneLineForEveryCommand() throws IOException {
    Path sys = Path.of("/sys");
    Path folder = sys.resolve("perase-test-run");
    Path file = sys.resolve("perase-test.json");
    assumeTrue(Files.isDirectory(sys) && !Files.exists(folder) && !Files.exists(file));
    for (String command : folderCommands().toList()) {
      assertOneErrorLine(run(command, folder), folder, command);
    }
    for (String command : fileCommands().toList()) {
      assertOneErrorLine(run(command, file), file, command);
    }
    assertFalse(Files.exists(folder) || Files.exists(file));
  }

  /**
   * A full disk while the results are written: a real child process whose file writes fail past 8
   * KiB ({@code ulimit -f 8}; the JVM ignores SIGXFSZ, so write() returns EFBIG, as it returns
   * ENOSPC on a full disk). The images (2.5 KB) are written, the latents (12 KB) are not: one error
   * line, exit 2, and every file of the earlier run byte for byte as it was, no temporary file.
   */
  @Test
  void aFullDiskWhileWritingLeavesTheEarlierRunsFilesAsTheyWere() throws Exception {
    Path out = tmp.resolve("gen");
    String[] args = {"generate", "--prompt", "a red star", "--steps", "2", "--out", out.toString()};
    CliRun first = CliRun.of(args);
    assertEquals(0, first.code(), first.output());
    Map<Path, byte[]> before = files();
    assertTrue(before.keySet().stream().anyMatch(p -> p.endsWith("latents.safetensors")));
    Path log = tmp.resolve("child.log");
    Process child =
        ChildJvm.start(
            ChildJvm.command(Main.class, args), Path.of("").toAbsolutePath(), log, "ulimit -f 8");
    assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child ends");
    String text = Files.readString(log);
    assertEquals(Main.BAD_INPUT, child.exitValue(), text);
    List<String> errors = text.lines().filter(l -> l.startsWith("error: ")).toList();
    assertEquals(
        List.of("error: cannot write " + out.resolve("latents.safetensors") + ": file too large"),
        errors,
        text);
    assertFalse(text.contains("Exception") || text.contains("\tat "), text);
    Files.delete(log);
    assertUntouched(before);
  }
}

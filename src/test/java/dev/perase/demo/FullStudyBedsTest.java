package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.cli.CliRun;
import dev.perase.cli.Main;
import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FullStudyBedsTest {
  private static FullStudySettings full(Path out) {
    return FullStudySettings.full(out, Path.of("m"), Path.of("d"), Path.of("p"));
  }

  @Test
  void aSubsetKeepsTheStudysOrderAndEverythingElse(@TempDir Path dir) {
    FullStudySettings all = full(dir);
    assertSame(all, all.withBeds(null));
    FullStudySettings two = all.withBeds(List.of("star", "red"));
    assertEquals(List.of("red", "star"), two.beds());
    assertEquals(all.sweeps(), two.sweeps());
    assertEquals(all.attackAttempts(), two.attackAttempts());
    assertEquals(all.retainPrompts(), two.retainPrompts());
  }

  @Test
  void unknownOrRepeatedBedsAreRefused(@TempDir Path dir) {
    FullStudySettings all = full(dir);
    BadInputException e =
        assertThrows(BadInputException.class, () -> all.withBeds(List.of("blue")));
    assertTrue(e.getMessage().contains("[red, Pointel, star]"), e.getMessage());
    assertThrows(BadInputException.class, () -> all.withBeds(List.of("red", "red")));
  }

  @Test
  void aSubsetOfMethodsKeepsTheirSweepsInTheStudysOrder(@TempDir Path dir) {
    FullStudySettings all = full(dir);
    assertSame(all, all.withMethods(null));
    FullStudySettings two = all.withMethods(List.of("p-esd", "esd"));
    assertEquals(List.of(all.sweep(EraseMethod.ESD), all.sweep(EraseMethod.P_ESD)), two.sweeps());
    assertEquals(all.beds(), two.beds());
    assertEquals(all.attackAttempts(), two.attackAttempts());
    BadInputException e =
        assertThrows(BadInputException.class, () -> all.withMethods(List.of("fmn")));
    assertTrue(e.getMessage().contains("[esd, p-esd, ac, p-ac]"), e.getMessage());
    assertThrows(BadInputException.class, () -> all.withMethods(List.of("ac", "ac")));
  }

  @Test
  void theCliRefusesBadBedsBeforeWritingAnything(@TempDir Path dir) {
    Path out = dir.resolve("study");
    CliRun r = CliRun.of("demo", "--study", "full", "--beds", "red,blue", "--out", out.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    assertTrue(r.err().contains("unknown test bed 'blue'"), r.err());
    CliRun s = CliRun.of("demo", "--beds", "red", "--out", out.toString());
    assertEquals(Main.BAD_INPUT, s.code(), s.output());
    assertTrue(s.err().contains("--beds is an option of --study full"), s.err());
    CliRun m = CliRun.of("demo", "--study", "full", "--methods", "uce", "--out", out.toString());
    assertEquals(Main.BAD_INPUT, m.code(), m.output());
    assertTrue(m.err().contains("unknown method 'uce'"), m.err());
    assertFalse(Files.exists(out));
  }
}

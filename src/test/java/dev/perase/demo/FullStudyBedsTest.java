package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.cli.CliRun;
import dev.perase.cli.Main;
import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.world.Concept;
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
  void anEraseSeedChangesOnlyTheSeedAndIsLeftOutOfOldConfigsAtZero(@TempDir Path dir) {
    FullStudySettings all = full(dir);
    assertEquals(0, all.eraseSeed());
    FullStudySettings seeded = all.withBeds(List.of("red")).withEraseSeed(3);
    assertEquals(3, seeded.eraseSeed());
    assertEquals(List.of("red"), seeded.beds());
    assertEquals(all.sweeps(), seeded.sweeps());
    assertEquals(3, seeded.withMethods(List.of("p-esd")).eraseSeed());
    // a study's config.json from before the option has no erase_seed: seed 0 still matches it
    assertFalse(Json.MAPPER.valueToTree(all).has("erase_seed"));
    assertEquals(3, Json.MAPPER.valueToTree(seeded).get("erase_seed").asLong());
  }

  /** The seed reaches the erasing run: its config.json records it. */
  @Test
  void theEraseSeedSeedsTheErasingRun(@TempDir Path dir) throws Exception {
    Path world = Fixtures.world();
    StudySteps steps = new StudySteps(world, world.resolve("detector"), 2, 5);
    Path out = dir.resolve("esd");
    steps.erase(
        Concept.of("star"),
        new StudySteps.Point(EraseMethod.ESD, 1, 1e-4, null, null),
        out,
        f -> {});
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals(5, config.get("settings").get("seed").asLong(), config.toString());
  }

  /** A seeded study resumes: its seed, a long, is read back from config.json as an int. */
  @Test
  void aSeededStudysFolderIsContinued(@TempDir Path dir) {
    FullStudySettings seeded = full(dir.resolve("s")).withBeds(List.of("red")).withEraseSeed(1);
    StudyRun.open(seeded.out(), seeded);
    StudyRun.open(seeded.out(), seeded);
    BadInputException e =
        assertThrows(
            BadInputException.class, () -> StudyRun.open(seeded.out(), seeded.withEraseSeed(2)));
    assertTrue(e.getMessage().contains("other settings (erase_seed)"), e.getMessage());
  }

  /**
   * What cannot be joined is refused before anything is written (the join itself: FullStudyTest).
   */
  @Test
  void aJoinOfAnotherKindOfStudyIsRefused(@TempDir Path dir) {
    FullStudySettings into = full(dir.resolve("c")).withBeds(List.of("red"));
    Path seeded = dir.resolve("seeded");
    Json.write(seeded.resolve("config.json"), full(seeded).withEraseSeed(1));
    BadInputException e = assertThrows(BadInputException.class, () -> FullStudy.join(into, seeded));
    assertTrue(e.getMessage().contains("other settings (erase_seed)"), e.getMessage());
    Path star = dir.resolve("star");
    Json.write(star.resolve("config.json"), full(star).withBeds(List.of("star")));
    e = assertThrows(BadInputException.class, () -> FullStudy.join(into, star));
    assertTrue(e.getMessage().contains("shares no test bed or no method"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> FullStudy.join(into, dir.resolve("none")));
    assertTrue(e.getMessage().contains("is not a study folder"), e.getMessage());
    e = assertThrows(BadInputException.class, () -> FullStudy.join(into, into.out()));
    assertTrue(e.getMessage().contains("into itself"), e.getMessage());
    assertFalse(Files.exists(into.out()));
    CliRun j = CliRun.of("demo", "--join", seeded.toString(), "--out", into.out().toString());
    assertEquals(Main.BAD_INPUT, j.code(), j.output());
    assertTrue(j.err().contains("--join is an option of --study full"), j.err());
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
    CliRun e = CliRun.of("demo", "--erase-seed", "2", "--out", out.toString());
    assertEquals(Main.BAD_INPUT, e.code(), e.output());
    assertTrue(e.err().contains("--erase-seed is an option of --study full"), e.err());
    assertFalse(Files.exists(out));
  }
}

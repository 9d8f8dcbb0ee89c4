package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorldPromptsTest {

  /** For every colour, ≥ 40 % of its test prompts lack the colour's word, yet all ask for it. */
  @Test
  void colourPromptsOftenLeaveOutTheColourWord() {
    for (FillColor color : FillColor.values()) {
      Concept c = color.concept();
      List<PromptRow> rows = WorldPrompts.testSet(c, new PromptSetSettings(50, 7));
      int without = 0;
      for (PromptRow r : rows) {
        if (!r.prompt().toLowerCase(Locale.ROOT).contains(c.ownWord())) {
          without++;
        }
        assertEquals(color, CaptionGrammar.parse(r.prompt()).color(), r.prompt());
      }
      assertTrue(without >= 20, color + ": only " + without + " of 50 without its word");
    }
  }

  @Test
  void testSetPromptsShowTheirConcept() {
    for (Concept c : Concept.all()) {
      for (PromptRow r : WorldPrompts.testSet(c, new PromptSetSettings(30, 3))) {
        assertTrue(CaptionGrammar.mentions(r.prompt(), c), c + ": " + r.prompt());
        assertEquals(c, WorldPrompts.concept(r));
        assertEquals(List.of("concept_kind", "concept"), List.copyOf(r.extra().keySet()));
        assertEquals(c.kind().label(), r.extra().get("concept_kind"));
        assertEquals(PromptSetSettings.DEFAULT_GUIDANCE, r.guidance());
      }
    }
  }

  /** Retain prompts never name the concept by any wording and never ask for an image showing it. */
  @Test
  void retainSetAvoidsTheConcept() {
    for (Concept c : Concept.all()) {
      List<PromptRow> rows = WorldPrompts.retainSet(c, new PromptSetSettings(200, 11));
      assertEquals(200, rows.size());
      Set<String> distinct = new HashSet<>();
      for (PromptRow r : rows) {
        assertEquals(c, WorldPrompts.concept(r));
        assertFalse(CaptionGrammar.mentions(r.prompt(), c), c + ": " + r.prompt());
        PromptLabels p = CaptionGrammar.parse(r.prompt());
        assertFalse(
            p.shape().concept().equals(c)
                || p.color().concept().equals(c)
                || p.style().concept().equals(c),
            c + ": " + r.prompt());
        distinct.add(r.prompt());
      }
      assertTrue(distinct.size() >= 195, c + ": only " + distinct.size() + " distinct prompts");
    }
  }

  @Test
  void setsAreDeterministicForTheirSeed() {
    Concept red = Concept.of("red");
    PromptSetSettings s = new PromptSetSettings(40, 5, 6.0);
    assertEquals(WorldPrompts.testSet(red, s), WorldPrompts.testSet(red, s));
    assertEquals(WorldPrompts.retainSet(red, s), WorldPrompts.retainSet(red, s));
    assertNotEquals(
        WorldPrompts.testSet(red, s), WorldPrompts.testSet(red, new PromptSetSettings(40, 6, 6.0)));
    Set<Long> seeds = new HashSet<>();
    for (PromptRow r : WorldPrompts.testSet(red, s)) {
      seeds.add(r.seed());
      assertEquals(6.0, r.guidance());
    }
    assertTrue(seeds.size() > 30, "evaluation seeds should vary: " + seeds);
    assertThrows(IllegalArgumentException.class, () -> new PromptSetSettings(0, 1));
  }

  @Test
  void csvHasTheUnlearnDiffLayoutAndQuotesFields(@TempDir Path dir) throws Exception {
    Concept vortex = Concept.of("Vortex");
    List<PromptRow> rows =
        new ArrayList<>(WorldPrompts.testSet(vortex, new PromptSetSettings(25, 1)));
    rows.add(WorldPrompts.row(25, "a \"quoted\" star, by Vortex", 12, 7.5, vortex));
    Path file = dir.resolve("vortex.csv");
    PromptCsv.write(file, rows);

    String text = Files.readString(file, StandardCharsets.UTF_8);
    assertTrue(
        text.startsWith(
            "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\r\n"),
        text.substring(0, Math.min(100, text.length())));
    assertTrue(
        text.endsWith("25,\"a \"\"quoted\"\" star, by Vortex\",12,7.5,style,Vortex\r\n"),
        text.substring(Math.max(0, text.length() - 100)));
    List<PromptRow> back = PromptCsv.read(file);
    assertEquals(rows, back);
    for (int i = 0; i < back.size(); i++) {
      assertEquals(i, back.get(i).caseNumber());
      assertEquals(vortex, WorldPrompts.concept(back.get(i)));
    }
    // no temporary file is left next to the CSV
    try (var files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList());
    }
  }

  @Test
  void conceptOfARowComesFromItsConceptColumn() {
    Concept red = Concept.of("red");
    assertEquals(red, WorldPrompts.concept(WorldPrompts.row(0, "a red star", 1, 7.5, red)));
    // the kind column is optional; the name is case-insensitive like Concept.of
    assertEquals(
        Concept.of("Vortex"),
        WorldPrompts.concept(new PromptRow(0, "p", 1, 7.5, Map.of("concept", "vortex"))));
    BadInputException absent =
        assertThrows(
            BadInputException.class, () -> WorldPrompts.concept(new PromptRow(4, "p", 1, 7.5)));
    assertTrue(absent.getMessage().contains("'concept'"), absent.getMessage());
    assertThrows(
        BadInputException.class,
        () -> WorldPrompts.concept(new PromptRow(0, "p", 1, 7.5, Map.of("concept", "purple cow"))));
    Map<String, String> wrongKind = new LinkedHashMap<>();
    wrongKind.put("concept_kind", "shape");
    wrongKind.put("concept", "red");
    assertThrows(
        BadInputException.class,
        () -> WorldPrompts.concept(new PromptRow(0, "p", 1, 7.5, wrongKind)));
  }

  /** The committed default sets of the three test beds are what the code writes today. */
  @Test
  void committedDefaultSetsAreUpToDate(@TempDir Path dir) throws Exception {
    WorldPrompts.writeDefaultSets(dir);
    Path committed = Fixtures.world().resolve("prompts");
    for (String bed : WorldPrompts.TEST_BEDS) {
      String name = bed.toLowerCase(Locale.ROOT);
      for (String file : List.of(name + ".csv", name + "_retain.csv")) {
        assertEquals(
            Files.readString(dir.resolve(file)),
            Files.readString(committed.resolve(file)),
            file + " differs: regenerate with WorldPrompts.writeDefaultSets");
      }
      Concept c = Concept.of(bed);
      List<PromptRow> test = PromptCsv.read(committed.resolve(name + ".csv"));
      List<PromptRow> retain = PromptCsv.read(committed.resolve(name + "_retain.csv"));
      assertEquals(WorldPrompts.DEFAULT_TEST_COUNT, test.size());
      assertEquals(WorldPrompts.DEFAULT_RETAIN_COUNT, retain.size());
      for (PromptRow r : test) {
        assertEquals(c, WorldPrompts.concept(r));
      }
      for (PromptRow r : retain) {
        assertEquals(c, WorldPrompts.concept(r));
      }
    }
  }
}

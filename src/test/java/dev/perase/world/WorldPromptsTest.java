package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
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
        assertEquals(c, r.concept());
        assertEquals(PromptSetSettings.DEFAULT_GUIDANCE, r.evaluationGuidance());
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
      seeds.add(r.evaluationSeed());
      assertEquals(6.0, r.evaluationGuidance());
    }
    assertTrue(seeds.size() > 30, "evaluation seeds should vary: " + seeds);
    assertThrows(IllegalArgumentException.class, () -> new PromptSetSettings(0, 1));
  }

  @Test
  void csvHasTheUnlearnDiffLayoutAndQuotesFields(@TempDir Path dir) throws Exception {
    Concept vortex = Concept.of("Vortex");
    List<PromptRow> rows =
        new ArrayList<>(WorldPrompts.testSet(vortex, new PromptSetSettings(25, 1)));
    rows.add(new PromptRow(25, "a \"quoted\" star, by Vortex", 12, 7.5, vortex));
    Path file = dir.resolve("vortex.csv");
    WorldPrompts.writeCsv(file, rows);

    List<List<String>> table = readCsv(Files.readString(file, StandardCharsets.UTF_8));
    assertEquals(
        List.of(
            "case_number",
            "prompt",
            "evaluation_seed",
            "evaluation_guidance",
            "concept_kind",
            "concept"),
        table.get(0));
    assertEquals(rows.size() + 1, table.size());
    for (int i = 0; i < rows.size(); i++) {
      PromptRow r = rows.get(i);
      assertEquals(
          List.of(
              Integer.toString(i),
              r.prompt(),
              Long.toString(r.evaluationSeed()),
              "7.5",
              "style",
              "Vortex"),
          table.get(i + 1));
    }
    // no temporary file is left next to the CSV
    try (var files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList());
    }
    assertEquals("\"a, b\"", WorldPrompts.csvField("a, b"));
    assertEquals("\"say \"\"hi\"\"\"", WorldPrompts.csvField("say \"hi\""));
    assertEquals("plain", WorldPrompts.csvField("plain"));
  }

  /** The committed default sets of the three test beds are what the code writes today. */
  @Test
  void committedDefaultSetsAreUpToDate(@TempDir Path dir) throws Exception {
    WorldPrompts.writeDefaultSets(dir);
    Path committed = Path.of("models/world/prompts");
    for (String bed : WorldPrompts.TEST_BEDS) {
      String name = bed.toLowerCase(Locale.ROOT);
      for (String file : List.of(name + ".csv", name + "_retain.csv")) {
        assertEquals(
            Files.readString(dir.resolve(file)),
            Files.readString(committed.resolve(file)),
            file + " differs: regenerate with WorldPrompts.writeDefaultSets");
      }
      assertEquals(
          WorldPrompts.DEFAULT_TEST_COUNT + 1,
          readCsv(Files.readString(committed.resolve(name + ".csv"))).size());
      assertEquals(
          WorldPrompts.DEFAULT_RETAIN_COUNT + 1,
          readCsv(Files.readString(committed.resolve(name + "_retain.csv"))).size());
    }
  }

  /** A strict RFC 4180 reader (quoted fields, doubled quotes), for checking the writer. */
  private static List<List<String>> readCsv(String text) {
    List<List<String>> rows = new ArrayList<>();
    List<String> row = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (quoted) {
        if (ch == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
          field.append('"');
          i++;
        } else if (ch == '"') {
          quoted = false;
        } else {
          field.append(ch);
        }
      } else if (ch == '"') {
        assertEquals(0, field.length(), "quote inside an unquoted field");
        quoted = true;
      } else if (ch == ',') {
        row.add(field.toString());
        field.setLength(0);
      } else if (ch == '\n') {
        row.add(field.toString());
        field.setLength(0);
        rows.add(row);
        row = new ArrayList<>();
      } else {
        field.append(ch);
      }
    }
    assertFalse(quoted, "unterminated quote");
    assertEquals(0, field.length() + row.size(), "last line lacks its newline");
    return rows;
  }
}

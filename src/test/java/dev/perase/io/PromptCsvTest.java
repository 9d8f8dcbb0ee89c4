package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptCsvTest {
  @TempDir Path tmp;

  @Test
  void readsUnlearnDiffLayoutWithQuotedFieldsAndExtraColumns() throws IOException {
    // pandas' unnamed index column first, CRLF line ends, a BOM, sd_seed beside evaluation_seed.
    String csv =
        "\uFEFF,case_number,source,prompt,evaluation_seed,evaluation_guidance,categories,sd_seed\r\n"
            + "0,12,i2p,\"a woman, nude, \"\"artistic\"\"\",2734971755,7.5,\"sexual,nudity\",42\r\n"
            + "1,15,i2p,plain prompt,17,9,,7\r\n";
    List<PromptRow> rows = PromptCsv.read(write("unlearndiff.csv", csv));
    assertEquals(2, rows.size());
    PromptRow r = rows.get(0);
    assertEquals(12, r.caseNumber());
    assertEquals("a woman, nude, \"artistic\"", r.prompt());
    assertEquals(2734971755L, r.seed());
    assertEquals(7.5, r.guidance());
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put("", "0");
    extra.put("source", "i2p");
    extra.put("categories", "sexual,nudity");
    extra.put("sd_seed", "42");
    assertEquals(extra, r.extra());
    assertEquals(List.of("", "source", "categories", "sd_seed"), List.copyOf(r.extra().keySet()));
    assertEquals(
        new PromptRow(
            15,
            "plain prompt",
            17,
            9.0,
            Map.of("", "1", "source", "i2p", "categories", "", "sd_seed", "7")),
        rows.get(1));
  }

  @Test
  void readsI2pSpellingsAndMultiLinePrompts() throws IOException {
    String csv =
        "prompt,categories,hard,sd_seed,sd_guidance_scale,sd_image_width,sd_image_height\n"
            + "\"line one\nline two, still the prompt\",violence,1,3954688283,7,512,512\n"
            + "second,\"shocking\",0,1.0,12.0,512,768\n";
    List<PromptRow> rows = PromptCsv.read(write("i2p.csv", csv));
    assertEquals(2, rows.size());
    assertEquals("line one\nline two, still the prompt", rows.get(0).prompt());
    assertEquals(0, rows.get(0).caseNumber(), "no case_number: the row's position");
    assertEquals(1, rows.get(1).caseNumber());
    assertEquals(3954688283L, rows.get(0).seed());
    assertEquals(7.0, rows.get(0).guidance());
    assertEquals(1L, rows.get(1).seed(), "pandas' float spelling 1.0 of a whole number");
    assertEquals(12.0, rows.get(1).guidance());
    assertEquals(512, rows.get(1).width());
    assertEquals(768, rows.get(1).height());
    assertEquals(Map.of("categories", "shocking", "hard", "0"), rows.get(1).extra());
  }

  @Test
  void absentSeedAndGuidanceColumnsTakeTheDefaults() throws IOException {
    Path f = write("plain.csv", "prompt\na cat\n\nan astronaut\n");
    List<PromptRow> rows = PromptCsv.read(f);
    assertEquals(
        List.of(
            new PromptRow(0, "a cat", PromptCsv.DEFAULT_SEED, PromptCsv.DEFAULT_GUIDANCE),
            new PromptRow(1, "an astronaut", PromptCsv.DEFAULT_SEED, PromptCsv.DEFAULT_GUIDANCE)),
        rows);
    assertEquals(99, PromptCsv.read(f, 99, 3.0).get(1).seed());
    assertEquals(3.0, PromptCsv.read(f, 99, 3.0).get(1).guidance());
  }

  @Test
  void writeThenReadRoundTrips() throws IOException {
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put("categories", "hate, \"harassment\"");
    extra.put("note", " padded ");
    List<PromptRow> rows =
        List.of(
            new PromptRow(3, "a \"quoted\", comma prompt", 5L, 7.5, extra),
            new PromptRow(4, "multi\r\nline", Long.MAX_VALUE, 12.25, Map.of("categories", "x")),
            new PromptRow(5, "z", -1, 0.0));
    Path f = tmp.resolve("out/prompts.csv");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "old content");
    PromptCsv.write(f, rows);
    assertEquals(rows.get(0), PromptCsv.read(f).get(0));
    List<PromptRow> back = PromptCsv.read(f);
    assertEquals(3, back.size());
    assertEquals(rows.get(0), back.get(0));
    assertEquals(
        new PromptRow(
            4, "multi\r\nline", Long.MAX_VALUE, 12.25, Map.of("categories", "x", "note", "")),
        back.get(1));
    assertEquals(new PromptRow(5, "z", -1, 0.0, Map.of("categories", "", "note", "")), back.get(2));
    String text = Files.readString(f, StandardCharsets.UTF_8);
    assertTrue(
        text.startsWith(
            "case_number,prompt,evaluation_seed,evaluation_guidance,categories,note\r\n"
                + "3,\"a \"\"quoted\"\", comma prompt\",5,7.5,\"hate, \"\"harassment\"\"\","
                + "\" padded \"\r\n"),
        text);
    try (var names = Files.list(f.getParent())) {
      assertEquals(List.of("prompts.csv"), names.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void badInputNamesTheLine() throws IOException {
    assertBad("case_number,text\n1,a\n", "line 1", "prompt");
    assertBad("prompt,evaluation_seed\na,1\nb,abc\n", "line 3", "abc");
    assertBad("prompt,evaluation_seed\na,\n", "line 2", "evaluation_seed");
    assertBad("prompt,evaluation_seed\na,1.5\n", "line 2", "whole number");
    assertBad("prompt,evaluation_guidance\na,nan\n", "line 2", "not a number");
    assertBad("prompt,case_number\na,1\nb,2,3\n", "line 3", "fields");
    assertBad("prompt,evaluation_seed\n\"multi\nline,1\nnext,2\n", "line 2", "never closed");
    assertBad("prompt,sd_seed\n\"a\"b,1\n", "line 2", "closing quote");
    assertBad("prompt,prompt\na,b\n", "line 1", "twice");
    assertBad("", "empty", "prompt");
    assertBad("prompt,case_number\n\"two\nlines\",x\n", "line 2", "case_number");
    BadInputException e =
        assertThrows(BadInputException.class, () -> PromptCsv.read(tmp.resolve("none.csv")));
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }

  /**
   * Each kind of bad input in a published layout is one line naming the file, the 1-based line the
   * record starts on and its 0-based row (a multi-line prompt above moves the line, not the row).
   */
  @Test
  void badCellsNameFileLineAndRowOnOneLine() throws IOException {
    String header =
        "case_number,prompt,evaluation_seed,evaluation_guidance,sd_image_width,"
            + "sd_image_height\n";
    String ok = "0,\"two\nlines\",1,7.5,512,512\n";
    // line 4 is row 1
    assertBad(header + ok + "1,b,abc,7.5,512,512\n", "line 4 (row 1)", "evaluation_seed 'abc'");
    assertBad(header + ok + "1,b,4.5e3x,7.5,512,512\n", "line 4 (row 1)", "not a whole number");
    assertBad(
        header + ok + "1,b,18446744073709551616,7.5,512,512\n", "line 4 (row 1)", "seed range");
    assertBad(header + ok + "1,b,1,seven,512,512\n", "line 4 (row 1)", "evaluation_guidance");
    assertBad(header + ok + "1,b,1,inf,512,512\n", "line 4 (row 1)", "not a number");
    assertBad(header + ok + "1,b,1,7.5,wide,512\n", "line 4 (row 1)", "sd_image_width 'wide'");
    assertBad(header + ok + "1,b,1,7.5,512,5000\n", "line 4 (row 1)", "sd_image_height 5000");
    assertBad(header + ok + "1,b,1,7.5,512,4\n", "line 4 (row 1)", "image side");
    assertBad(header + ok + "1,b,1,7.5,0,512\n", "line 4 (row 1)", "one side 0");
    assertBad(header + ok + "1,b,1,7.5,512,\n", "line 4 (row 1)", "sd_image_height ''");
    assertBad(header + ok + "x1,b,1,7.5,512,512\n", "line 4 (row 1)", "case_number 'x1'");
    assertBad(header + ok + "2147483648,b,1,7.5,512,512\n", "line 4 (row 1)", "2^31");
    assertBad(header + ok + "1,,1,7.5,512,512\n", "line 4 (row 1)", "prompt is empty");
    assertBad(header + ok + "1,\"\",1,7.5,512,512\n", "line 4 (row 1)", "prompt is empty");
    assertBad(header + ok + "1,b,\"1\n2\",7.5,512,512\n", "line 4 (row 1)", "'1\\n2'");
    assertBad("case_number,prompt,sd_image_width\n1,a,512\n", "line 1", "sd_image_width but no");
    assertBad(
        "case_number,evaluation_seed,evaluation_guidance\n1,2,7.5\n",
        "line 1",
        "no 'prompt' column (columns: case_number, evaluation_seed, evaluation_guidance)");
  }

  private void assertBad(String csv, String where, String word) throws IOException {
    Path f = Files.createTempFile(tmp, "bad", ".csv");
    Files.writeString(f, csv);
    BadInputException e = assertThrows(BadInputException.class, () -> PromptCsv.read(f), csv);
    String msg = e.getMessage();
    assertTrue(msg.contains(f.getFileName().toString()), msg);
    assertFalse(msg.contains("\n") || msg.contains("\r"), "one line: " + msg);
    assertTrue(msg.contains(where), "should say '" + where + "': " + msg);
    assertTrue(msg.contains(word), "should say '" + word + "': " + msg);
  }

  private Path write(String name, String text) throws IOException {
    Path f = tmp.resolve(name);
    Files.writeString(f, text, StandardCharsets.UTF_8);
    return f;
  }
}

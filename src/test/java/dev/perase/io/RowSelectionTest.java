package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RowSelectionTest {
  @TempDir Path tmp;

  @Test
  void rowsAreZeroBasedInclusiveRangesSinglesAndOpenEndsInFileOrder() {
    assertArrayEquals(
        new int[] {0, 1, 2, 5, 8, 9}, RowSelection.parse("0-2, 5,8-", null).indices(10, "f"));
    assertArrayEquals(
        new int[] {0, 1, 5, 6, 7}, RowSelection.parse("5-7,0-1,6", null).indices(10, "f"));
    assertArrayEquals(new int[] {3}, RowSelection.parse("3", null).indices(10, "f"));
    assertArrayEquals(new int[] {0, 1, 2}, RowSelection.parse(null, null).indices(3, "f"));
    assertArrayEquals(new int[] {0, 1, 2}, RowSelection.parse(" ", null).indices(3, "f"));
  }

  @Test
  void limitKeepsTheFirstSelectedRows() {
    assertArrayEquals(new int[] {3, 4}, RowSelection.parse("3-", 2).indices(10, "f"));
    assertArrayEquals(new int[] {0, 1, 2}, RowSelection.parse(null, 3).indices(142, "f"));
    assertArrayEquals(new int[] {0, 1}, RowSelection.parse(null, 50).indices(2, "f"));
  }

  @Test
  void aRangeEndingPastTheFileIsCutThere() {
    // shards of a fixed width: the last one of nudity.csv's 142 rows
    assertArrayEquals(new int[] {140, 141}, RowSelection.parse("140-199", null).indices(142, "f"));
  }

  @Test
  void appliedAfterReadingKeepsTheSelectedRows() throws IOException {
    Path f = tmp.resolve("church.csv");
    Files.writeString(
        f,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "10,a,1,7.5\n11,\"b,\nc\",2,7.5\n12,d,3,7.5\n13,e,4,7.5\n");
    List<PromptRow> rows = PromptCsv.read(f, RowSelection.parse("1-2", null));
    assertEquals(List.of(11, 12), rows.stream().map(PromptRow::caseNumber).toList());
    assertEquals(
        List.of(13),
        PromptCsv.read(f, RowSelection.parse("3-", 1)).stream()
            .map(PromptRow::caseNumber)
            .toList());
  }

  @Test
  void configShowsRowsAndLimitOnlyWhenGiven() throws IOException {
    assertEquals("{}", Json.MAPPER.writeValueAsString(RowSelection.ALL).replaceAll("\\s", ""));
    assertEquals(
        "{\"limit\":5,\"rows\":\"0-9,20,30-\"}",
        Json.MAPPER
            .writeValueAsString(RowSelection.parse("0-9, 20-20, 30-", 5))
            .replaceAll("\\s", ""));
    assertTrue(RowSelection.parse(null, null).isAll());
    assertFalse(RowSelection.parse(null, 1).isAll());
  }

  @Test
  void badSelectionsAreOneLineNamingTheFlag() {
    assertBad("a", null, "--rows 'a': expected 0-based row indices");
    assertBad("1,,2", null, "--rows '1,,2'");
    assertBad("-3", null, "--rows '-3'");
    assertBad("3-x", null, "--rows '3-x'");
    assertBad("1-2-3", null, "--rows '1-2-3'");
    assertBad("5-2", null, "the range 5-2 ends before it starts");
    assertBad("99999999999", null, "beyond any prompt file");
    assertBad(null, 0, "--limit must be at least 1, got 0");
    assertBad(null, -4, "--limit must be at least 1, got -4");
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> RowSelection.parse("100-", null).indices(100, "nudity.csv"));
    assertEquals("--rows 100-: nudity.csv has 100 rows (0-99)", e.getMessage());
  }

  private static void assertBad(String rows, Integer limit, String expected) {
    BadInputException e =
        assertThrows(BadInputException.class, () -> RowSelection.parse(rows, limit));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}

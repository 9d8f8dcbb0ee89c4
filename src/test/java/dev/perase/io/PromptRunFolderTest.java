package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resumable per-prompt output folder of evaluate and attack: config.json with the run key, a
 * journal whose stale or torn lines are dropped, and the refusal of another run's folder.
 */
class PromptRunFolderTest {
  @TempDir Path tmp;

  record Line(
      @JsonProperty("index") int index,
      @JsonProperty("case_number") int caseNumber,
      @JsonProperty("prompt") String prompt,
      @JsonProperty("seed") long seed,
      @JsonProperty("guidance") double guidance,
      @JsonProperty("done") boolean done)
      implements PromptRunFolder.RowOutcome {}

  private static final List<PromptRow> ROWS =
      List.of(
          new PromptRow(10, "a star", 1, 7.5),
          new PromptRow(11, "a vortex", 2, 7.5),
          new PromptRow(12, "a red star", 3, 7.5));

  private static Map<String, String> inputs(String model) {
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("model_hash", model);
    inputs.put("steps", "5");
    return inputs;
  }

  private static PromptRunFolder<Line> open(Path out, String model) {
    return PromptRunFolder.open(out, "images", inputs(model), "test run", Line.class, l -> l);
  }

  @Test
  void configRecordsSettingsExtrasInputsAndTheRunKeyInOrder() throws IOException {
    Path out = tmp.resolve("run");
    PromptRunFolder<Line> folder = open(out, "abc");
    assertTrue(Files.isDirectory(out.resolve("images")));
    assertEquals(Hashes.sha256(inputs("abc").toString()), folder.runKey());
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("attempt_timesteps", List.of(1, 2));
    folder.writeConfig("evaluate", "0.1", Map.of("steps", 5), extra);
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    List<String> keys = new ArrayList<>();
    config.fieldNames().forEachRemaining(keys::add);
    assertEquals(
        List.of("command", "perase_version", "settings", "attempt_timesteps", "inputs", "run_key"),
        keys);
    assertEquals("abc", config.at("/inputs/model_hash").asText());
    assertEquals(folder.runKey(), config.get("run_key").asText());
  }

  @Test
  void journalKeepsOnlyFinishedLinesOfUnchangedRowsAndDropsATornLine() throws IOException {
    Path out = tmp.resolve("run");
    PromptRunFolder<Line> folder = open(out, "abc");
    folder.writeConfig("evaluate", "0.1", Map.of(), Map.of());
    folder.append(new Line(0, 10, "a star", 1, 7.5, true));
    folder.append(new Line(1, 11, "a vortex, changed", 2, 7.5, true)); // row edited since
    folder.append(new Line(2, 12, "a red star", 3, 7.5, false)); // files missing
    folder.append(new Line(7, 17, "beyond the file", 1, 7.5, true));
    Files.writeString(
        out.resolve(PromptRunFolder.JOURNAL), "{\"index\":1,\"case_n", StandardOpenOption.APPEND);

    Map<Integer, Line> done = open(out, "abc").readJournal(ROWS, Line::done);
    assertEquals(List.of(0), List.copyOf(done.keySet()));
    folder.rewriteJournal(done.values());
    folder.append(new Line(1, 11, "a vortex", 2, 7.5, true));
    assertEquals(2, Files.readAllLines(out.resolve(PromptRunFolder.JOURNAL)).size());
    assertEquals(List.of(0, 1), List.copyOf(folder.readJournal(ROWS, Line::done).keySet()));
  }

  @Test
  void aFolderWithAnotherRunsJournalIsRefused() {
    Path out = tmp.resolve("run");
    PromptRunFolder<Line> folder = open(out, "abc");
    folder.writeConfig("evaluate", "0.1", Map.of(), Map.of());
    folder.append(new Line(0, 10, "a star", 1, 7.5, true));
    BadInputException e = assertThrows(BadInputException.class, () -> open(out, "other"));
    assertEquals(
        out + " holds the results of another test run; choose another --out or delete that folder",
        e.getMessage());
    open(out, "abc"); // the same run opens again
  }
}

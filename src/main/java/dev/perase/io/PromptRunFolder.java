package dev.perase.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The output folder of a resumable run over the rows of a prompt file ({@code perase evaluate},
 * {@code perase attack}, {@code perase generate --prompts}): {@code config.json}, which records the
 * run's inputs and the run key they make up, and the journal {@code per_prompt.jsonl}, one JSON
 * line of type {@code T} per finished row. Started again with the same inputs (the same run key), a
 * run keeps the journal's lines whose row is unchanged and goes on at the next row; a folder whose
 * journal belongs to another run key is refused, so that two runs are never mixed in one folder.
 *
 * @param <T> a journal line
 */
public final class PromptRunFolder<T> {
  public static final String CONFIG = "config.json";
  public static final String JOURNAL = "per_prompt.jsonl";

  private static final ObjectWriter LINE =
      Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT);

  /** What a journal line records of its row: the row's index in the file and its fields. */
  public interface RowOutcome {
    int index();

    int caseNumber();

    String prompt();

    long seed();

    double guidance();
  }

  private final Path out;
  private final Map<String, String> inputs;
  private final String runKey;
  private final Class<T> type;
  private final Function<T, ? extends RowOutcome> outcome;

  private PromptRunFolder(
      Path out,
      Map<String, String> inputs,
      String runKey,
      Class<T> type,
      Function<T, ? extends RowOutcome> outcome) {
    this.out = out;
    this.inputs = inputs;
    this.runKey = runKey;
    this.type = type;
    this.outcome = outcome;
  }

  /**
   * Creates {@code out} and its {@code subfolder}; the run key is the SHA-256 of {@code inputs}.
   * Refuses a folder that holds a journal and a {@code config.json} of another run key, naming the
   * run in the message: {@code "<out> holds the results of another <another>; choose another --out
   * or delete that folder"}.
   *
   * @param type a journal line's class, read with {@link Json#MAPPER}
   * @param outcome the row a journal line records (null for a line that records none)
   */
  public static <T> PromptRunFolder<T> open(
      Path out,
      String subfolder,
      Map<String, String> inputs,
      String another,
      Class<T> type,
      Function<T, ? extends RowOutcome> outcome) {
    String runKey = Hashes.sha256(inputs.toString());
    OutputPaths.createFolder(out);
    OutputPaths.createFolder(out.resolve(subfolder));
    Path config = out.resolve(CONFIG);
    if (Files.exists(out.resolve(JOURNAL)) && Files.exists(config)) {
      String previous;
      try {
        previous = Json.MAPPER.readTree(config.toFile()).path("run_key").asText("");
      } catch (IOException e) {
        previous = "";
      }
      if (!previous.equals(runKey)) {
        throw new BadInputException(
            out
                + " holds the results of another "
                + another
                + "; choose another --out or delete that folder");
      }
    }
    return new PromptRunFolder<>(out, inputs, runKey, type, outcome);
  }

  /** SHA-256 of the run's inputs: what a folder must match to be resumed. */
  public String runKey() {
    return runKey;
  }

  /**
   * Writes {@code config.json}: the command, the version, the settings, {@code extra} in its order,
   * the inputs and the run key.
   */
  public void writeConfig(
      String command, String version, Object settings, Map<String, Object> extra) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("command", command);
    config.put("perase_version", version);
    config.put("settings", settings);
    config.putAll(extra);
    config.put("inputs", inputs);
    config.put("run_key", runKey);
    Json.write(out.resolve(CONFIG), config);
  }

  /**
   * The journal's lines that still hold, by row index: their row is unchanged (case, prompt, seed,
   * guidance) and {@code finished} accepts them (their files exist). A torn last line (a crash
   * mid-write) is dropped.
   */
  public Map<Integer, T> readJournal(List<PromptRow> rows, Predicate<T> finished) {
    Path journal = out.resolve(JOURNAL);
    Map<Integer, T> done = new TreeMap<>();
    if (!Files.exists(journal)) {
      return done;
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(journal, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new BadInputException("cannot read " + journal + ": " + e.getMessage(), e);
    }
    for (String text : lines) {
      T line;
      try {
        line = Json.MAPPER.readValue(text, type);
      } catch (JsonProcessingException e) {
        continue;
      }
      RowOutcome r = outcome.apply(line);
      if (r == null || r.index() < 0 || r.index() >= rows.size()) {
        continue;
      }
      PromptRow row = rows.get(r.index());
      boolean same =
          row.caseNumber() == r.caseNumber()
              && row.prompt().equals(r.prompt())
              && row.seed() == r.seed()
              && row.guidance() == r.guidance();
      if (same && finished.test(line)) {
        done.put(r.index(), line);
      }
    }
    return done;
  }

  /** Rewrites the journal with only {@code lines}, so that appends follow a whole line. */
  public void rewriteJournal(Collection<T> lines) {
    StringBuilder sb = new StringBuilder();
    for (T l : lines) {
      sb.append(line(l)).append('\n');
    }
    AtomicFile.writeString(out.resolve(JOURNAL), sb.toString());
  }

  /** Appends a finished row's line to the journal and forces it to disk. */
  public void append(T l) {
    Path journal = out.resolve(JOURNAL);
    try (FileChannel ch =
        FileChannel.open(
            journal,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap((line(l) + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(false);
    } catch (IOException e) {
      throw FileAccessException.of("write", journal, e);
    }
  }

  private static String line(Object l) {
    try {
      return LINE.writeValueAsString(l);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}

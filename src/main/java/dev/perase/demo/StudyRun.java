package dev.perase.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.io.Json;
import dev.perase.io.OutputPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleConsumer;

/**
 * How a study runs its plan, whatever its settings: the folder's {@code config.json} is written on
 * the first run and must match on every later one, each task whose output exists is skipped, and
 * each finished task's wall time goes to {@code timings.json} (read back on resume), so that an
 * interrupted study resumes where it stopped. {@link Demo} and {@link FullStudy} run through it.
 */
final class StudyRun {
  /** The settings that are paths, compared as absolute, normalised paths on resume. */
  private static final List<String> PATHS = List.of("model", "detector", "prompt_sets");

  /**
   * One step of a plan: its bed, what it does ({@code erase p-esd}, {@code unlearndiff on esd}),
   * the folder it writes with its {@code config.json} (null when it has none of its own), its
   * estimated cost (seconds at the full scale), done check and run.
   */
  record Task(String bed, String what, Path folder, double cost, BooleanSupplier done, Work run) {
    /** The step's name in the progress, {@code timings.json} and the report. */
    String name() {
      return bed + ": " + what;
    }
  }

  @FunctionalInterface
  interface Work {
    void run(DoubleConsumer fraction);
  }

  private static final String TIMINGS = "timings.json";

  private final Path out;
  private final Map<String, Double> timings = new LinkedHashMap<>();

  private StudyRun(Path out) {
    this.out = out;
  }

  /**
   * Opens (or creates) the study folder {@code out} for {@code settings}: refuses a folder made
   * with other settings, then records them and reads the timings of earlier runs.
   */
  static StudyRun open(Path out, Object settings) {
    OutputPaths.createFolder(out);
    StudyRun run = new StudyRun(out);
    run.timings.putAll(readTimings(out));
    Path config = out.resolve(StudyLayout.CONFIG);
    if (Files.exists(config)) {
      refuseOtherStudy(readConfig(out), settings, out);
    }
    Json.write(config, settings);
    return run;
  }

  /** The timings a study folder has recorded so far (none: empty). */
  static Map<String, Double> readTimings(Path out) {
    Path file = out.resolve(TIMINGS);
    if (!Files.exists(file)) {
      return new LinkedHashMap<>();
    }
    try {
      return Json.MAPPER.readValue(
          file.toFile(),
          Json.MAPPER
              .getTypeFactory()
              .constructMapType(LinkedHashMap.class, String.class, Double.class));
    } catch (IOException e) {
      throw FileAccessException.of("read", file, e);
    }
  }

  /** A study folder's {@code config.json}. */
  static JsonNode readConfig(Path out) {
    Path config = out.resolve(StudyLayout.CONFIG);
    if (!Files.isRegularFile(config)) {
      throw new BadInputException(out + " is not a study folder: it has no " + StudyLayout.CONFIG);
    }
    try {
      JsonNode node = Json.MAPPER.readTree(config.toFile());
      if (node == null || !node.isObject()) {
        throw new BadInputException(config + " is not a study config: not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new BadInputException(config + " is not a readable study config: " + e.getMessage(), e);
    }
  }

  Path timingsFile() {
    return out.resolve(TIMINGS);
  }

  /** Wall seconds per finished task (and whatever else a task records, e.g. seconds per step). */
  Map<String, Double> timings() {
    return timings;
  }

  /** Records an extra timing (e.g. {@code red: erase p-esd s/step}); written with the next task. */
  void record(String name, double seconds) {
    if (Double.isFinite(seconds)) {
      timings.put(name, seconds);
    }
  }

  /** Writes the timings recorded so far (each finished task writes them too). */
  void writeTimings() {
    Json.write(timingsFile(), timings);
  }

  /** Runs every task of {@code plan} not done yet, in order, reporting to {@code listener}. */
  void execute(List<Task> plan, Demo.Listener listener) {
    execute(plan, listener, () -> {});
  }

  /**
   * As {@link #execute(List, Demo.Listener)}, calling {@code afterTask} after each task it runs.
   */
  void execute(List<Task> plan, Demo.Listener listener, Runnable afterTask) {
    double total = plan.stream().mapToDouble(Task::cost).sum();
    double done = 0;
    for (int i = 0; i < plan.size(); i++) {
      Task t = plan.get(i);
      boolean skip = t.done().getAsBoolean();
      listener.task(i + 1, plan.size(), t.name(), skip);
      if (!skip) {
        final double before = done;
        long t0 = System.nanoTime();
        t.run().run(f -> listener.progress((before + t.cost() * Math.min(1, f)) / total));
        timings.put(t.name(), (System.nanoTime() - t0) / 1e9);
        writeTimings();
        afterTask.run();
      }
      done += t.cost();
      listener.progress(done / total);
    }
  }

  /**
   * A study folder is continued only with the settings it was started with: its finished steps are
   * skipped, so other settings (another scale, more prompts, other methods or model files) would
   * give a study that mixes two. The output folder itself may have moved.
   */
  private static void refuseOtherStudy(JsonNode before, Object settings, Path out) {
    List<String> differ = differences(before, settings);
    if (!differ.isEmpty()) {
      throw new BadInputException(
          out
              + " holds a study made with other settings ("
              + String.join(", ", differ)
              + "); choose another --out, or delete the folder to start over");
    }
  }

  /**
   * The settings (top-level keys of {@code config.json}) in which {@code before} differs from
   * {@code settings}, the output folder aside; paths compared as absolute, normalised paths.
   */
  static List<String> differences(JsonNode before, Object settings) {
    JsonNode now = Json.MAPPER.valueToTree(settings);
    List<String> differ = new ArrayList<>();
    for (var it = now.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (field.equals("out")) {
        continue;
      }
      JsonNode a = before.get(field);
      JsonNode b = now.get(field);
      boolean same =
          PATHS.contains(field)
              ? a != null && a.isTextual() && samePath(a.asText(), b.asText())
              : a != null && b.equals(SAME_VALUE, a);
      if (!same) {
        differ.add(field);
      }
    }
    // a field only the earlier study has (the other kind of study, e.g.) differs too
    for (var it = before.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("out") && !now.has(field)) {
        differ.add(field);
      }
    }
    return differ;
  }

  /**
   * Equal JSON values, numbers by value: a {@code long} setting is written as a long node but read
   * back from the file as an int node, and Jackson's own equality tells the two apart.
   */
  private static final java.util.Comparator<JsonNode> SAME_VALUE =
      (x, y) ->
          x.isNumber() && y.isNumber()
              ? x.decimalValue().compareTo(y.decimalValue())
              : x.equals(y) ? 0 : 1;

  /** Whether two paths name the same place, as absolute, normalised paths. */
  static boolean samePath(String a, String b) {
    return Path.of(a).toAbsolutePath().normalize().equals(Path.of(b).toAbsolutePath().normalize());
  }
}

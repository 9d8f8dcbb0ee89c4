package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.io.Json;
import dev.perase.io.ModelSource;
import dev.perase.io.OutputPaths;
import dev.perase.io.SafeTensors;
import dev.perase.io.StreamedSafeTensors;
import dev.perase.io.TensorInfo;
import dev.perase.tensor.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The output folder of an erasure run, shared by both trainers: {@code config.json}, {@code
 * log.jsonl} (one JSON object per step) and the resumable {@code checkpoint.safetensors}.
 *
 * <p>The checkpoint holds the trained tensors ({@code state/<key>}: mask logits or weights), the
 * AdamW moments ({@code adam_m/<key>}, {@code adam_v/<key>}), the image pool of AC or FMN ({@code
 * ac_pool}, its name from when AC alone had one) and in its metadata the step, the settings and the
 * base model hash. Nothing else is needed to resume exactly: every random draw of step i derives
 * from (seed, i) ({@link #stepRandom}).
 */
final class RunFolder {
  static final String CHECKPOINT = "checkpoint.safetensors";
  static final String LOG = "log.jsonl";
  static final String CONFIG = "config.json";
  static final String FORMAT = "perase-erase-checkpoint";

  private final Path dir;
  private final EraseSettings settings;
  private final String modelHash;
  private final int startStep;
  private final long startNanos = System.nanoTime();
  private float lastLoss = Float.NaN;
  private double stepSeconds;

  private RunFolder(Path dir, EraseSettings settings, String modelHash, int startStep) {
    this.dir = dir;
    this.settings = settings;
    this.modelHash = modelHash;
    this.startStep = startStep;
  }

  /**
   * Opens {@code dir} for a run. A checkpoint there is continued with {@code resume} (after
   * checking that it belongs to this model and these settings) and refused without it, so that a
   * finished or running erasure is never overwritten by accident. Without a checkpoint, a run
   * starts at step 0 (with {@code resume} too) and any old {@code log.jsonl} is emptied.
   */
  static RunFolder open(Path dir, EraseSettings settings, String modelHash, boolean resume) {
    OutputPaths.createFolder(dir);
    Path ckpt = dir.resolve(CHECKPOINT);
    if (!Files.exists(ckpt)) {
      writeLog(dir.resolve(LOG), List.of());
      return new RunFolder(dir, settings, modelHash, 0);
    }
    if (!resume) {
      throw new BadInputException(
          dir
              + " already holds an erasure run ("
              + CHECKPOINT
              + "); pass --resume to continue it, or choose another --out");
    }
    int step;
    try (SafeTensors st = SafeTensors.open(ckpt)) {
      Map<String, String> md = st.metadata();
      if (!FORMAT.equals(md.get("format"))) {
        throw new BadInputException(ckpt + " is not a perase erase checkpoint");
      }
      if (!modelHash.equalsIgnoreCase(md.getOrDefault("base_model_hash", ""))) {
        throw new BadInputException(
            ckpt
                + " was made for the base model "
                + md.get("base_model_hash")
                + ", not for this model ("
                + modelHash
                + "); resume with the same --model");
      }
      EraseSettings before =
          EraseSettings.fromJson(md.getOrDefault("settings", ""), ckpt.toString());
      if (!settings.continues(before)) {
        throw new BadInputException(
            ckpt
                + " was made with other settings ("
                + before.toJson()
                + "); resume with the same settings (only --steps may grow) or choose another"
                + " --out");
      }
      try {
        step = Integer.parseInt(md.getOrDefault("step", ""));
      } catch (NumberFormatException e) {
        throw new BadInputException(ckpt + " has no valid step in its metadata");
      }
      if (step < 0 || step > settings.steps()) {
        throw new BadInputException(
            ckpt
                + " is at step "
                + step
                + ", beyond --steps "
                + settings.steps()
                + "; ask for at least "
                + step
                + " steps");
      }
    }
    truncateLog(dir.resolve(LOG), step);
    return new RunFolder(dir, settings, modelHash, step);
  }

  Path dir() {
    return dir;
  }

  /** The first step to run: 0, or the checkpoint's step when resuming. */
  int startStep() {
    return startStep;
  }

  /** Seconds since this folder was opened. */
  double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /**
   * The random source of step i: SplittableRandom seeded from (seed, i) only, so that a resumed run
   * draws exactly what an uninterrupted one would.
   */
  static SplittableRandom stepRandom(long seed, int step) {
    return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoint

  /**
   * Copies the checkpoint's tensors into the trained tensors and the optimiser (whose step count is
   * set too). Shapes are checked, and a missing tensor is a {@link BadInputException}.
   */
  void restore(Map<String, NDArray> state, AdamW optimizer, NDManager scratch) {
    Path ckpt = dir.resolve(CHECKPOINT);
    try (SafeTensors st = SafeTensors.open(ckpt)) {
      int i = 0;
      for (Map.Entry<String, NDArray> e : state.entrySet()) {
        copyInto(st, "state/" + e.getKey(), e.getValue(), scratch);
        copyInto(st, "adam_m/" + e.getKey(), optimizer.expAvg().get(i), scratch);
        copyInto(st, "adam_v/" + e.getKey(), optimizer.expAvgSq().get(i), scratch);
        i++;
      }
      int trained = 0;
      for (String k : st.keys()) {
        trained += k.startsWith("state/") ? 1 : 0;
      }
      if (trained != state.size()) {
        throw new BadInputException(
            ckpt + " trains " + trained + " tensors but this run trains " + state.size());
      }
    }
    optimizer.setStepCount(startStep);
  }

  /** The image pool saved in the checkpoint, in {@code manager}, or null when there is none. */
  NDArray pool(NDManager manager) {
    Path ckpt = dir.resolve(CHECKPOINT);
    if (!Files.exists(ckpt)) {
      return null;
    }
    try (SafeTensors st = SafeTensors.open(ckpt)) {
      return st.has("ac_pool") ? st.load("ac_pool", manager) : null;
    }
  }

  private static void copyInto(SafeTensors st, String key, NDArray target, NDManager scratch) {
    if (!st.has(key)) {
      throw new BadInputException(st.path() + " lacks '" + key + "' (corrupted checkpoint?)");
    }
    TensorInfo info = st.info(key);
    long[] shape = target.getShape().getShape();
    if (!Arrays.equals(info.shape(), shape)) {
      throw new BadInputException(
          st.path()
              + ": '"
              + key
              + "' has shape "
              + info.shapeString()
              + ", expected "
              + Arrays.toString(shape));
    }
    try (NDManager tmp = scratch.newSubManager()) {
      target.set(st.load(key, tmp).toFloatArray());
    }
  }

  /**
   * Writes the checkpoint (atomically): the trained tensors by key, the optimiser's moments, the
   * image pool when given, and the step.
   */
  void saveCheckpoint(int step, Map<String, NDArray> state, AdamW optimizer, NDArray pool) {
    Map<String, String> md = new LinkedHashMap<>();
    md.put("format", FORMAT);
    md.put("step", Integer.toString(step));
    md.put("base_model_hash", modelHash);
    md.put("method", settings.method().json());
    md.put("settings", settings.toJson());
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, NDArray> e : state.entrySet()) {
      tensors.put("state/" + e.getKey(), e.getValue());
      tensors.put("adam_m/" + e.getKey(), optimizer.expAvg().get(i));
      tensors.put("adam_v/" + e.getKey(), optimizer.expAvgSq().get(i));
      i++;
    }
    if (pool != null) {
      tensors.put("ac_pool", pool);
    }
    StreamedSafeTensors.write(dir.resolve(CHECKPOINT), md, tensors);
  }

  // ---------------------------------------------------------------------------------------------
  // Log and config

  /**
   * Ends step {@code step} (1-based): appends its log line, keeps its loss and seconds for the
   * result, and writes the checkpoint every {@code checkpoint_every} steps and at the last step.
   */
  void endStep(
      int step,
      float loss,
      double seconds,
      ObjectNode line,
      Map<String, NDArray> state,
      AdamW optimizer,
      NDArray pool) {
    stepSeconds += seconds;
    lastLoss = loss;
    log(line);
    if (step % settings.checkpointEvery() == 0 || step == settings.steps()) {
      saveCheckpoint(step, state, optimizer, pool);
    }
  }

  /**
   * What this call of the run produced: the steps it ran (from {@link #startStep}), the last loss,
   * the mean seconds per step and the wall time since the folder was opened.
   */
  Erasure erasure(Path artifact, long prunedCount, long selectedElements) {
    int ran = settings.steps() - startStep;
    return new Erasure(
        artifact,
        ran,
        settings.steps(),
        lastLoss,
        ran == 0 ? Double.NaN : stepSeconds / ran,
        prunedCount,
        selectedElements,
        elapsedSeconds());
  }

  /**
   * The head of {@code config.json}'s {@code result} that every trainer writes: artifact, steps
   * run, last loss, seconds per step and wall seconds (null where no step ran).
   */
  static Map<String, Object> result(Erasure e) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("artifact", e.artifact().getFileName().toString());
    r.put("steps_run", e.stepsRun());
    r.put("last_loss", Float.isNaN(e.lastLoss()) ? null : e.lastLoss());
    r.put("seconds_per_step", Double.isNaN(e.secondsPerStep()) ? null : e.secondsPerStep());
    r.put("wall_seconds", e.wallSeconds());
    return r;
  }

  /** Appends one step's line to {@code log.jsonl}. */
  void log(ObjectNode line) {
    try {
      Files.writeString(
          dir.resolve(LOG),
          line.toString() + "\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw FileAccessException.of("append to", dir.resolve(LOG), e);
    }
  }

  /** A log line with the fields every trainer writes. */
  ObjectNode logLine(
      int step, float loss, double lr, int[] timesteps, int ddimIndex, double seconds) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("step", step);
    o.put("loss", loss);
    o.put("lr", lr);
    var t = o.putArray("t");
    for (int v : timesteps) {
      t.add(v);
    }
    if (ddimIndex >= 0) {
      o.put("k", ddimIndex);
    }
    o.put("seconds", Math.round(seconds * 1e4) / 1e4);
    o.put("elapsed_seconds", Math.round(elapsedSeconds() * 100) / 100.0);
    long rss = rssMegabytes();
    if (rss >= 0) {
      o.put("rss_mb", rss);
    }
    return o;
  }

  /**
   * Writes {@code config.json}: the command, versions, model (with its config folder when it is a
   * single file), settings and {@code extra}.
   */
  void writeConfig(ModelSource model, Map<String, Object> extra) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("command", "erase");
    config.put("perase_version", MaskMetadata.currentVersion());
    config.put("model", model.path().toString());
    if (model.configDir() != null) {
      config.put("model_config", model.configDir().toString());
    }
    config.put("model_hash", modelHash);
    config.put("settings", settings);
    config.putAll(extra);
    Json.write(dir.resolve(CONFIG), config);
  }

  /** A selection's summary for {@code config.json}, in the config's snake_case. */
  static Map<String, Object> summary(Selection.Summary s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("selection", s.selection());
    m.put("tensors", s.tensors());
    m.put("elements", s.elements());
    m.put("maskable_elements", s.maskableElements());
    m.put("share", s.share());
    return m;
  }

  /** Resident set size of this process in MiB (from /proc), or −1 where unavailable. */
  static long rssMegabytes() {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return -1;
    }
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmRSS:")) {
          String[] parts = line.substring(6).trim().split("\\s+");
          return Long.parseLong(parts[0]) / 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  private static void truncateLog(Path log, int step) {
    if (!Files.exists(log)) {
      return;
    }
    List<String> keep = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(log)) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode node = Json.MAPPER.readTree(line);
        JsonNode s = node == null ? null : node.get("step");
        if (s != null && s.asInt() <= step) {
          keep.add(line);
        }
      }
    } catch (IOException e) {
      throw new BadInputException(log + " is not a readable training log: " + e.getMessage(), e);
    }
    writeLog(log, keep);
  }

  private static void writeLog(Path log, List<String> lines) {
    AtomicFile.writeString(log, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
  }
}

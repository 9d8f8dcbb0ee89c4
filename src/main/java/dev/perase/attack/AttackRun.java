package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.eval.Detector;
import dev.perase.eval.ModelEdit;
import dev.perase.eval.Verdict;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.RowSelection;
import dev.perase.io.SafeTensors;
import dev.perase.io.Shard;
import dev.perase.io.ShardPart;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An attack run over a prompt file ({@code perase attack}): every prompt (or the rows the settings
 * select, each keeping its index in the file) is attacked with UnlearnDiff or P4D ({@link
 * PromptAttack}) on the base model with the settings' mask or weights applied, θ* being the base
 * model itself.
 *
 * <p>Two phases: (1) with no edit, θ*'s reference run of every prompt ({@link Reference}); (2) with
 * the edit applied, per prompt the pre-attack image and verdict, then the attempts. Output folder:
 *
 * <ul>
 *   <li>{@code config.json}: the settings, the model hash, the detector's fingerprint, SHA-256 of
 *       every input file and the run key they make up;
 *   <li>{@code prompts/NNNN/}: for prompt row NNNN, {@code reference.png} (θ*'s image), {@code
 *       reference.safetensors} (θ*'s latents), {@code pre_attack.png}, {@code attempt_JJ.png} and
 *       {@code attempts.json} (per attempt: timestep, loss per iteration, adversarial tokens and
 *       prompt, detector scores, image);
 *   <li>{@code results.json} ({@link AttackResults}) and {@code results.csv}: per prompt success,
 *       the skipped prompts, the CER before and under attack;
 *   <li>{@code timing.json}: seconds per prompt and the share of generation and optimisation;
 *   <li>{@code per_prompt.jsonl}: the journal (one line per finished prompt) that makes the run
 *       resumable: started again with the same settings it goes on at the next prompt.
 * </ul>
 *
 * Prompts whose tokens with the k adversarial ones exceed the tokenizer's limit are skipped and
 * listed. Every file is written to a temporary name and renamed into place.
 */
public final class AttackRun {
  public static final String CONFIG = PromptRunFolder.CONFIG;
  public static final String RESULTS = "results.json";
  public static final String RESULTS_CSV = "results.csv";
  public static final String TIMING = "timing.json";
  public static final String JOURNAL = PromptRunFolder.JOURNAL;
  public static final String PROMPTS = "prompts";
  public static final String ATTEMPTS = "attempts.json";
  static final String REFERENCE = "reference.safetensors";
  static final String REFERENCE_PNG = "reference.png";
  static final String PRE_ATTACK_PNG = "pre_attack.png";

  /**
   * Changes when the format of the run's files or the meaning of its results does, so that old
   * folders are not mixed in (2: every attempt starts from its own uniform tokens and Adam state).
   */
  static final String FORMAT = "perase attack 2";

  private AttackRun() {}

  /** Progress of a run, for progress bars; and the end of each prompt. */
  public interface Listener {
    /** A phase starts: {@code references} or {@code attack}, with its total in {@code unit}s. */
    void phase(String name, long total, String unit);

    /** Done so far in the current phase (resumed prompts count as done). */
    void progress(long done);

    /** Attempt {@code attempt} of {@code attempts} of the current prompt starts (1-based). */
    default void attempt(int attempt, int attempts) {}

    /** A prompt's attack is finished and journalled. */
    default void promptDone(PromptAttackResult result) {}

    Listener NONE =
        new Listener() {
          @Override
          public void phase(String name, long total, String unit) {}

          @Override
          public void progress(long done) {}
        };
  }

  /** One journal line: a prompt's result and its timing. */
  record JournalLine(
      @JsonProperty("result") PromptAttackResult result,
      @JsonProperty("timing") PromptTiming timing) {}

  /**
   * Loads the model named by the settings and runs the attack with {@code detector} (made by the
   * caller: the world's, NudeNet, an image classifier).
   */
  public static AttackResults run(AttackSettings s, Detector detector, Listener listener) {
    if (s.model() == null) {
      throw new BadInputException("an attack needs a model folder");
    }
    try (StableDiffusion sd = StableDiffusion.load(s.model(), s.modelConfig())) {
      return run(sd, detector, s, listener);
    }
  }

  /**
   * Attacks every prompt of the settings' file on {@code sd} (the base model θ*; the settings' mask
   * or weights are applied for phase 2 and removed after it) with {@code detector}. The settings'
   * model, detector, concept and rule are only recorded.
   */
  public static AttackResults run(
      StableDiffusion sd, Detector detector, AttackSettings s, Listener listener) {
    detector.rule().check(detector.heads(), detector.concept());
    List<PromptRow> rows = PromptCsv.read(s.prompts());
    if (rows.isEmpty()) {
      throw new BadInputException(s.prompts() + " has no prompts");
    }
    RowSelection selection = s.rows() == null ? RowSelection.ALL : s.rows();
    Shard shard = selection.shard();
    int[] selected = selection.indices(rows.size(), s.prompts().toString());
    String modelHash = sd.layout().modelHash();
    int size =
        s.imageSize() > 0 ? s.imageSize() : sd.unet().config().sampleSize() * sd.latentFactor();
    if (size % sd.latentFactor() != 0) {
      throw new BadInputException("--size must be a multiple of " + sd.latentFactor());
    }
    AttemptSchedule schedule = AttemptSchedule.of(sd.scheduler(), s.steps(), s.attempts());
    List<Long> excluded = AdversarialTokens.excludedIds(sd.tokenizer(), s.excludedWords());
    boolean[] allowed = AdversarialTokens.allowedTokens(sd.tokenizer(), s.excludedWords());
    Path out = s.out();

    // 1. which prompts fit k more tokens
    Map<Integer, PromptLayout> layouts = new TreeMap<>();
    List<AttackResults.SkippedPrompt> skipped = new ArrayList<>();
    for (int i : selected) {
      PromptLayout layout = new PromptLayout(sd.tokenizer(), rows.get(i).prompt(), s.tokens());
      if (layout.fits()) {
        layouts.put(i, layout);
      } else {
        skipped.add(
            new AttackResults.SkippedPrompt(
                i,
                rows.get(i).caseNumber(),
                rows.get(i).prompt(),
                layout.promptTokens(),
                sd.tokenizer().maxLength()));
      }
    }
    if (layouts.isEmpty()) {
      throw new BadInputException(
          "every prompt of "
              + s.prompts()
              + " is too long to take "
              + s.tokens()
              + " adversarial tokens within the tokenizer's limit of "
              + sd.tokenizer().maxLength()
              + " tokens");
    }
    ShardPart part = shard == null ? null : shardPart(shard, selected.length, layouts, skipped);
    if (part != null) {
      layouts.keySet().retainAll(part.rows());
      skipped.removeIf(p -> !part.rows().contains(p.index()));
    }

    // 2. config.json and the run key; refuse to mix two runs in one folder
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("format", FORMAT);
    inputs.put("model_hash", modelHash);
    inputs.put("detector", detector.name());
    inputs.put("detector_fingerprint", detector.fingerprint());
    inputs.put("concept", detector.concept());
    inputs.put("rule", detector.rule().text());
    inputs.put("method", s.method().label());
    inputs.put("tokens", Integer.toString(s.tokens()));
    inputs.put("iterations", Integer.toString(s.iterations()));
    inputs.put("steps", Integer.toString(s.steps()));
    if (s.sampler() != Sampler.DDIM) {
      // only when not the default, so that DDIM runs keep their run keys (and resume)
      inputs.put("sampler", s.sampler().text());
    }
    inputs.put("attempts", Integer.toString(s.attempts()));
    inputs.put("learning_rate", Double.toString(s.learningRate()));
    inputs.put("weight_decay", Double.toString(s.weightDecay()));
    inputs.put("relaxation", s.relaxation().label());
    inputs.put("excluded_tokens", excluded.toString());
    inputs.put("image_size", Integer.toString(size));
    inputs.put("edit", s.edit().kind());
    inputs.put("prompts_sha256", dev.perase.io.Hashes.sha256File(s.prompts()));
    s.edit().putHash(inputs);
    PromptRunFolder<JournalLine> runFolder =
        PromptRunFolder.open(
            out,
            PROMPTS,
            inputs,
            "attack (other model, edit, detector, prompts or settings)",
            JournalLine.class,
            JournalLine::result);
    String runKey = runFolder.runKey();
    Map<String, Object> schedules = new LinkedHashMap<>();
    schedules.put("attempt_timesteps", schedule.timesteps());
    schedules.put("attempt_ddim_indices", schedule.ddimIndices());
    if (part != null) {
      schedules.put(ShardPart.KEY, part);
    }
    runFolder.writeConfig("attack", s.peraseVersion(), s, schedules);
    Map<Integer, JournalLine> done =
        runFolder.readJournal(
            rows,
            line ->
                line.timing() != null
                    && Files.isRegularFile(out.resolve(line.result().folder()).resolve(ATTEMPTS)));
    runFolder.rewriteJournal(done.values());

    // 3. phase 1, no edit: θ*'s reference run of every prompt still to attack
    boolean targets = s.method() == AttackMethod.P4D;
    Map<Integer, Double> referenceSeconds = new TreeMap<>();
    listener.phase("references", layouts.size(), "prompt");
    long count = 0;
    for (int i : layouts.keySet()) {
      if (!done.containsKey(i)) {
        referenceSeconds.put(
            i, ensureReference(sd, rows.get(i), i, schedule, size, targets, runKey, out));
      }
      listener.progress(++count);
    }

    // 4. phase 2, edit applied: pre-attack verdict and attempts
    List<PromptAttackResult> results = new ArrayList<>();
    List<PromptTiming> timings = new ArrayList<>();
    listener.phase("attack", layouts.size(), "prompt");
    count = 0;
    try (ModelEdit edit = ModelEdit.of(sd.unet().params(), modelHash, s.edit())) {
      for (Map.Entry<Integer, PromptLayout> e : layouts.entrySet()) {
        int i = e.getKey();
        JournalLine line = done.get(i);
        if (line == null) {
          line =
              attackPrompt(
                  sd,
                  detector,
                  s,
                  rows.get(i),
                  i,
                  e.getValue(),
                  schedule,
                  size,
                  allowed,
                  runKey,
                  referenceSeconds.getOrDefault(i, 0.0),
                  out,
                  listener);
          runFolder.append(line);
          listener.promptDone(line.result());
        }
        results.add(line.result());
        timings.add(line.timing());
        listener.progress(++count);
      }
    }

    // 5. outputs
    List<Integer> timesteps = new ArrayList<>();
    for (int t : schedule.timesteps()) {
      timesteps.add(t);
    }
    AttackResults summary =
        new AttackResults(
            s.method(),
            detector.concept(),
            detector.name(),
            detector.rule(),
            s.edit().kind(),
            s.tokens(),
            s.iterations(),
            s.steps(),
            timesteps,
            s.relaxation(),
            excluded.size(),
            layouts.size() + skipped.size(),
            results.size(),
            AttackResults.preAttack(results),
            AttackResults.underAttack(results),
            skipped,
            results);
    Json.write(out.resolve(RESULTS), summary);
    AtomicFile.writeString(out.resolve(RESULTS_CSV), csv(results));
    Json.write(out.resolve(TIMING), AttackTiming.of(timings));
    return summary;
  }

  /** How a shard's rows are chosen ({@link Shard}'s rule), as {@code config.json} records it. */
  static final String SHARD_RULE =
      "attacked row j of the selected rows (one that fits the adversarial tokens) goes to shard j"
          + " mod N; the rows too long to take them (skipped) go to shard 0";

  /**
   * Shard {@code shard}'s rows: its attacked rows (every N-th of them) and, for shard 0, the
   * skipped ones. A shard left without an attacked row is refused.
   */
  private static ShardPart shardPart(
      Shard shard,
      int selected,
      Map<Integer, PromptLayout> layouts,
      List<AttackResults.SkippedPrompt> skipped) {
    List<Integer> attacked = new ArrayList<>(layouts.keySet());
    List<Integer> mine = new ArrayList<>();
    for (int j : shard.units(attacked.size())) {
      mine.add(attacked.get(j));
    }
    if (mine.isEmpty()) {
      throw new BadInputException(
          "shard "
              + shard
              + " has no prompts: only "
              + attacked.size()
              + " selected rows can be attacked; use fewer shards");
    }
    if (shard.index() == 0) {
      skipped.forEach(p -> mine.add(p.index()));
      java.util.Collections.sort(mine);
    }
    return new ShardPart(shard.toString(), SHARD_RULE, selected, mine, 0, List.of());
  }

  /** The relative folder of prompt row i: {@code prompts/0003}. */
  public static String folder(int index) {
    return PROMPTS + "/" + String.format("%04d", index);
  }

  // ---------------------------------------------------------------------------------------------
  // Phases

  /** Makes θ*'s reference of row i unless a valid one is on disk; returns the seconds it took. */
  private static double ensureReference(
      StableDiffusion sd,
      PromptRow row,
      int index,
      AttemptSchedule schedule,
      int size,
      boolean targets,
      String runKey,
      Path out) {
    Path dir = out.resolve(folder(index));
    Path file = dir.resolve(REFERENCE);
    String key = referenceKey(runKey, row);
    try (NDManager m = Torch.newManager()) {
      if (Reference.read(file, key, targets, m) != null) {
        return referenceSeconds(file);
      }
      long t0 = System.nanoTime();
      Reference ref = Reference.compute(sd, row, schedule, size, targets, m);
      double seconds = (System.nanoTime() - t0) / 1e9;
      Png.write(dir.resolve(REFERENCE_PNG), ref.image());
      ref.write(file, key, seconds);
      return seconds;
    }
  }

  private static double referenceSeconds(Path file) {
    try (SafeTensors st = SafeTensors.open(file)) {
      return Double.parseDouble(st.metadata().getOrDefault(Reference.SECONDS, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The key a reference file is valid for: the run and the row. */
  private static String referenceKey(String runKey, PromptRow row) {
    return dev.perase.io.Hashes.sha256(
        runKey + "\n" + row.seed() + "\t" + row.guidance() + "\t" + row.prompt());
  }

  private static JournalLine attackPrompt(
      StableDiffusion sd,
      Detector detector,
      AttackSettings s,
      PromptRow row,
      int index,
      PromptLayout layout,
      AttemptSchedule schedule,
      int size,
      boolean[] allowed,
      String runKey,
      double referenceSeconds,
      Path out,
      Listener listener) {
    String folder = folder(index);
    Path dir = out.resolve(folder);
    boolean targets = s.method() == AttackMethod.P4D;
    try (NDManager m = Torch.newManager()) {
      Reference ref = Reference.read(dir.resolve(REFERENCE), referenceKey(runKey, row), targets, m);
      if (ref == null) {
        throw new IllegalStateException("the reference of prompt " + index + " is missing");
      }
      // 1. the attacked model's image of the prompt itself
      long t0 = System.nanoTime();
      GenerateSettings g =
          new GenerateSettings(
              row.prompt(),
              null,
              row.seed(),
              s.steps(),
              (float) row.guidance(),
              size,
              size,
              1,
              s.sampler());
      NDArray image = sd.generate(g, m, null).images();
      double preSeconds = (System.nanoTime() - t0) / 1e9;
      long t1 = System.nanoTime();
      Verdict pre = detector.detect(image).get(0);
      double detectSeconds = (System.nanoTime() - t1) / 1e9;
      Png.write(dir.resolve(PRE_ATTACK_PNG), image);
      Map<String, String> preTop = PromptAttack.topLabels(detector, pre);

      // 2. the attempts, unless the prompt is broken already
      List<AttemptResult> attempts = List.of();
      double optimisation = 0;
      double generation = 0;
      if (!pre.flagged()) {
        AttackObjective objective = AttackObjective.of(s.method(), sd, ref, schedule, row.seed());
        PromptAttack.Outcome o =
            PromptAttack.run(
                sd,
                detector,
                objective,
                layout,
                schedule,
                row,
                size,
                allowed,
                s,
                folder + "/",
                new PromptAttack.Observer() {
                  @Override
                  public void iteration(
                      int attempt, int iteration, float loss, AdversarialTokens tokens) {
                    if (iteration == 0) {
                      listener.attempt(attempt + 1, schedule.size());
                    }
                  }

                  @Override
                  public void attempt(AttemptResult result, NDArray attemptImage) {
                    Png.write(out.resolve(result.image()), attemptImage);
                  }
                });
        attempts = o.attempts();
        optimisation = o.optimisationSeconds();
        generation = o.generationSeconds();
        detectSeconds += o.detectorSeconds();
      }
      Json.write(dir.resolve(ATTEMPTS), attempts);

      // 3. the prompt's result
      int brokenAt = pre.flagged() ? 0 : -1;
      for (AttemptResult a : attempts) {
        if (a.flagged()) {
          brokenAt = a.attempt();
          break;
        }
      }
      AttemptResult last = attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
      PromptAttackResult result =
          new PromptAttackResult(
              index,
              row.caseNumber(),
              row.prompt(),
              row.seed(),
              row.guidance(),
              pre.flagged(),
              pre.conceptScore(),
              preTop,
              brokenAt >= 0,
              brokenAt,
              attempts.size(),
              last == null ? null : last.adversarialPrompt(),
              last == null ? List.of() : last.adversarialIds(),
              folder);
      PromptTiming timing =
          new PromptTiming(
              index,
              referenceSeconds,
              preSeconds,
              optimisation,
              generation,
              detectSeconds,
              attempts.size());
      return new JournalLine(result, timing);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // CSV

  /** index, case_number, prompt, seed, pre_attack_flagged, broken, broken_at, attempts, prompt. */
  static String csv(List<PromptAttackResult> results) {
    StringBuilder sb = new StringBuilder();
    dev.perase.io.Csv.record(
        sb,
        List.of(
            "index",
            "case_number",
            "prompt",
            "seed",
            "guidance",
            "pre_attack_flagged",
            "broken",
            "broken_at",
            "attempts_run",
            "adversarial_prompt"));
    for (PromptAttackResult r : results) {
      dev.perase.io.Csv.record(
          sb,
          List.of(
              Integer.toString(r.index()),
              Integer.toString(r.caseNumber()),
              r.prompt(),
              Long.toString(r.seed()),
              Double.toString(r.guidance()),
              Boolean.toString(r.preAttackFlagged()),
              Boolean.toString(r.broken()),
              Integer.toString(r.brokenAt()),
              Integer.toString(r.attemptsRun()),
              r.adversarialPrompt() == null ? "" : r.adversarialPrompt()));
    }
    return sb.toString();
  }
}

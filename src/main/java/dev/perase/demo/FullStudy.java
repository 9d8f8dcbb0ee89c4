package dev.perase.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.attack.AttackMethod;
import dev.perase.demo.StudyLayout.Prompts;
import dev.perase.erase.EraseMethod;
import dev.perase.eval.EditFile;
import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.io.FileTrees;
import dev.perase.io.Json;
import dev.perase.report.Report;
import dev.perase.world.Concept;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleConsumer;

/**
 * {@code perase demo --study full}: the matched-point study of issue 17 on the built-in world. Per
 * test bed, in this order:
 *
 * <ol>
 *   <li>the prompt files (the first rows of the bed's committed test and retain sets);
 *   <li>the base model's evaluation (test CER; the retain images whose features every distance is
 *       measured against);
 *   <li>per method, per point of its {@link Sweep}: erase, then evaluate (test CER with its Wilson
 *       interval; retain Fréchet distance to the base model with its bootstrap interval, distance
 *       to renderings, prompt following);
 *   <li>UnlearnDiff at the study's attack budget on the base model and on every sweep point (the
 *       trade-off chart's y, each method's line through its sweep);
 *   <li>P4D on the base model; per method the chosen point ({@link ChosenPoint}: the cheapest
 *       erasing point, written to {@code chosen.json}), then P4D on it.
 * </ol>
 *
 * The matched-point table (base and each method's chosen point with both attacks), the paper's
 * claim per bed ({@link PaperClaim} on the chosen points) and every sweep point go to {@code
 * study.json} ({@link FullStudyResults}, rewritten after every step) and the report. Every step
 * writes its own folder and is skipped when its output exists, so an interrupted study resumes
 * where it stopped; an interrupted erasure continues from its checkpoint and an interrupted attack
 * at its next prompt. Where each step writes: {@link FullStudyLayout}.
 */
public final class FullStudy {
  private final FullStudySettings s;
  private final FullStudyLayout layout;
  private final StudySteps steps;
  private StudyRun run;

  private FullStudy(FullStudySettings s) {
    this.s = s;
    this.layout = FullStudyLayout.of(s);
    this.steps = new StudySteps(s.model(), s.detector(), s.steps(), s.eraseSeed());
  }

  /** The study's plan, in order; building it runs nothing. */
  static List<StudyRun.Task> plan(FullStudySettings s) {
    return new FullStudy(s).plan();
  }

  /** Runs (or resumes) the study and returns its results, also written to {@code study.json}. */
  public static FullStudyResults run(FullStudySettings s, Demo.Listener listener) {
    FullStudy study = new FullStudy(s);
    study.run = StudyRun.open(s.out(), s);
    // study.json after every step too, so that the tables of a study still running can be read
    study.run.execute(study.plan(), listener, study::writeResults);
    return study.writeResults();
  }

  private FullStudyResults writeResults() {
    FullStudyResults results = FullStudyResults.gather(s, run.timings());
    Json.write(layout.study().study(), results);
    return results;
  }

  /**
   * Takes into the study folder of {@code s} the finished steps of the study folder {@code from},
   * e.g. one bed's methods run by another process with {@code --methods} (README, "The full
   * study"), and returns how many steps it took. {@code from} must share a bed and a method with
   * {@code s} and have the same settings otherwise (scale, sweeps, model, seed). Every step of
   * {@code s}'s plan that is finished there and not here has its folder copied (replacing a partial
   * one) and its timings adopted; the beds' prompt files and retain cache are copied where missing.
   * A step without a folder of its own (choosing a point) runs again, from the copied evaluations.
   * Then {@link #run} goes on from there.
   */
  public static int join(FullStudySettings s, Path from) {
    if (StudyRun.samePath(from.toString(), s.out().toString())) {
      throw new BadInputException("cannot join " + from + " into itself");
    }
    FullStudySettings theirs = joinable(s, from);
    Map<String, StudyRun.Task> finished = new HashMap<>();
    for (StudyRun.Task t : plan(theirs)) {
      if (t.done().getAsBoolean()) {
        finished.put(t.name(), t);
      }
    }
    StudyRun run = StudyRun.open(s.out(), s);
    StudyLayout ours = new StudyLayout(s.out());
    StudyLayout other = new StudyLayout(from);
    for (String bed : theirs.beds()) {
      copyMissing(
          other.prompts(bed, Prompts.TEST).getParent(),
          ours.prompts(bed, Prompts.TEST).getParent());
      copyMissing(other.retainCache(bed), ours.retainCache(bed));
    }
    Map<String, Double> timings = StudyRun.readTimings(from);
    int taken = 0;
    for (StudyRun.Task t : plan(s)) {
      StudyRun.Task done = finished.get(t.name());
      if (done == null) {
        continue;
      }
      if (!t.done().getAsBoolean()) {
        if (t.folder() == null) {
          continue; // choosing a point: it runs again from the copied evaluations
        }
        FileTrees.replaceWithCopy(done.folder(), t.folder());
        taken++;
      } else if (run.timings().containsKey(t.name())) {
        continue; // done here, with its own time
      }
      // the task's wall time and what it recorded beside it ("red: erase esd lr 1e-4 s/step")
      timings.forEach(
          (name, seconds) -> {
            if (name.equals(t.name()) || name.startsWith(t.name() + " ")) {
              run.record(name, seconds);
            }
          });
    }
    run.writeTimings();
    return taken;
  }

  /**
   * The settings of {@code from}'s study as far as it overlaps {@code s}; refused if they differ.
   */
  private static FullStudySettings joinable(FullStudySettings s, Path from) {
    JsonNode config = StudyRun.readConfig(from);
    JsonNode bedsNode = config.get("beds");
    JsonNode sweepsNode = config.get("sweeps");
    if (bedsNode == null || !bedsNode.isArray() || sweepsNode == null || !sweepsNode.isArray()) {
      throw new BadInputException(from + " is not a folder of the full study (no beds or sweeps)");
    }
    List<String> beds = new ArrayList<>();
    bedsNode.forEach(b -> beds.add(b.asText()));
    List<String> methods = new ArrayList<>();
    sweepsNode.forEach(w -> methods.add(w.path("method").asText()));
    List<String> sharedBeds = s.beds().stream().filter(beds::contains).toList();
    List<String> sharedMethods =
        s.sweeps().stream().map(w -> w.method().json()).filter(methods::contains).toList();
    if (sharedBeds.isEmpty() || sharedMethods.isEmpty()) {
      throw new BadInputException(
          from
              + " shares no test bed or no method with this study (it has "
              + beds
              + " and "
              + methods
              + ")");
    }
    FullStudySettings theirs = s.withOut(from).withBeds(sharedBeds).withMethods(sharedMethods);
    // their config as far as it overlaps: the shared beds and the shared methods' sweeps
    ObjectNode overlap = config.deepCopy();
    overlap.set("beds", Json.MAPPER.valueToTree(sharedBeds));
    ArrayNode sweeps = overlap.putArray("sweeps");
    sweepsNode.forEach(
        w -> {
          if (sharedMethods.contains(w.path("method").asText())) {
            sweeps.add(w);
          }
        });
    List<String> differ = StudyRun.differences(overlap, theirs);
    if (!differ.isEmpty()) {
      throw new BadInputException(
          from
              + " is a study made with other settings ("
              + String.join(", ", differ)
              + "); only studies that differ in their beds and methods can be joined");
    }
    return theirs;
  }

  private static void copyMissing(Path from, Path to) {
    if (!Files.isDirectory(from)) {
      return;
    }
    try {
      FileTrees.copy(from, to, null, true);
    } catch (IOException e) {
      throw FileAccessException.of("copy " + from + " to", to, e);
    }
  }

  /** Runs (or resumes) the study, then writes its report and returns the report's path. */
  public static Path runAndReport(FullStudySettings s, Demo.Listener listener) {
    FullStudyResults results = run(s, listener);
    return Report.write(FullStudyReportBuilder.build(s, results), s.out());
  }

  private List<StudyRun.Task> plan() {
    StudyLayout study = layout.study();
    List<StudyRun.Task> plan = new ArrayList<>();
    String base = StudyLayout.BASE;
    for (String bed : s.beds()) {
      Concept concept = Concept.of(bed);
      plan.add(
          new StudyRun.Task(
              bed,
              "prompts",
              null,
              1,
              () -> Files.exists(study.prompts(bed, Prompts.ATTACK)),
              f ->
                  Demo.writePrompts(
                      study,
                      s.promptSets(),
                      bed,
                      s.testPrompts(),
                      s.retainPrompts(),
                      s.attackPrompts())));
      plan.add(evaluateTask(bed, concept, base, study.evaluateDir(bed, base), EditFile.NONE));
      for (Sweep w : s.sweeps()) {
        for (Sweep.Point p : w.points()) {
          String name = w.method().json() + " " + w.label(p);
          Path eraseDir = layout.eraseDir(bed, w, p);
          plan.add(
              new StudyRun.Task(
                  bed,
                  "erase " + name,
                  eraseDir,
                  eraseCost(w.method(), p.steps()),
                  () -> Files.exists(layout.artifact(bed, w, p)),
                  f -> erase(bed, concept, w, p, f)));
          plan.add(
              evaluateTask(bed, concept, name, layout.evaluateDir(bed, w, p), edit(bed, w, p)));
        }
      }
      plan.add(
          attackTask(
              bed,
              concept,
              AttackMethod.UNLEARNDIFF,
              base,
              study.attackDir(bed, base, AttackMethod.UNLEARNDIFF),
              () -> EditFile.NONE));
      for (Sweep w : s.sweeps()) {
        for (Sweep.Point p : w.points()) {
          plan.add(
              attackTask(
                  bed,
                  concept,
                  AttackMethod.UNLEARNDIFF,
                  w.method().json() + " " + w.label(p),
                  layout.attackDir(bed, w, p, AttackMethod.UNLEARNDIFF),
                  () -> edit(bed, w, p)));
        }
      }
      plan.add(
          attackTask(
              bed,
              concept,
              AttackMethod.P4D,
              base,
              study.attackDir(bed, base, AttackMethod.P4D),
              () -> EditFile.NONE));
      for (Sweep w : s.sweeps()) {
        EraseMethod m = w.method();
        plan.add(
            new StudyRun.Task(
                bed,
                "choose " + m.json(),
                null,
                1,
                () -> Files.exists(layout.chosen(bed, m)),
                f -> choose(bed, w)));
        plan.add(
            attackTask(
                bed,
                concept,
                AttackMethod.P4D,
                m.json() + " (chosen)",
                layout.chosenAttackDir(bed, m),
                () -> chosenEdit(bed, w)));
      }
    }
    return plan;
  }

  private StudyRun.Task evaluateTask(
      String bed, Concept concept, String model, Path dir, EditFile edit) {
    StudyLayout study = layout.study();
    return new StudyRun.Task(
        bed,
        "evaluate " + model,
        dir,
        (s.testPrompts() + 2.0 * s.retainPrompts()) * s.steps() * 0.02,
        () ->
            Files.exists(dir.resolve(dev.perase.eval.Evaluation.RESULTS))
                && (s.retainPrompts() < 2 || Files.exists(dir.resolve(RenderedFrechet.FILE)))
                && (s.retainPrompts() < 1 || Files.exists(dir.resolve(RetainFollowing.FILE))),
        f ->
            steps.evaluate(
                concept,
                edit,
                study.prompts(bed, Prompts.TEST),
                s.retainPrompts() > 0 ? study.prompts(bed, Prompts.RETAIN) : null,
                s.retainPrompts(),
                dir,
                study.retainCache(bed),
                f));
  }

  /** An attack task; its edit is looked up when it runs (a chosen point is known only then). */
  private StudyRun.Task attackTask(
      String bed,
      Concept concept,
      AttackMethod a,
      String model,
      Path dir,
      java.util.function.Supplier<EditFile> edit) {
    return new StudyRun.Task(
        bed,
        a.label() + " on " + model,
        dir,
        s.attackPrompts() * s.attackAttempts() * (s.attackIterations() * 0.05 + s.steps() * 0.02),
        () -> Files.exists(dir.resolve(dev.perase.attack.AttackRun.RESULTS)),
        f ->
            steps.attack(
                concept,
                edit.get(),
                a,
                layout.study().prompts(bed, Prompts.ATTACK),
                s.attackIterations(),
                s.attackAttempts(),
                dir,
                f));
  }

  private double eraseCost(EraseMethod m, int n) {
    // seconds per step on the world model: ESD-based steps sample x_t by DDIM first
    return m.objective() == EraseMethod.Objective.ESD ? n * (0.1 + 0.01 * s.steps()) : n * 0.15;
  }

  private void erase(String bed, Concept concept, Sweep w, Sweep.Point p, DoubleConsumer f) {
    StudySteps.Point point =
        new StudySteps.Point(w.method(), p.steps(), p.learningRate(), p.pruneRatio(), null);
    run.record(
        bed + ": erase " + w.method().json() + " " + w.label(p) + " s/step",
        steps.erase(concept, point, layout.eraseDir(bed, w, p), f));
  }

  private EditFile edit(String bed, Sweep w, Sweep.Point p) {
    return StudySteps.edit(w.method(), layout.artifact(bed, w, p));
  }

  /** Chooses the sweep's point from its evaluations and records it in {@code chosen.json}. */
  private void choose(String bed, Sweep w) {
    List<StudyResults.Row> rows = FullStudyResults.pointRows(s, bed, w, new java.util.HashMap<>());
    ChosenPoint c = ChosenPoint.choose(w, rows, s.erasedCer());
    if (c == null) {
      throw new IllegalStateException(
          "no point of the " + w.method().json() + " sweep on " + bed + " has been evaluated");
    }
    Json.write(layout.chosen(bed, w.method()), c);
  }

  /** The edit of the point {@code chosen.json} names. */
  private EditFile chosenEdit(String bed, Sweep w) {
    ChosenPoint c = Json.read(layout.chosen(bed, w.method()), ChosenPoint.class);
    Sweep.Point p = w.point(c.point());
    if (p == null) {
      throw new BadInputException(
          layout.chosen(bed, w.method()) + " names " + c.point() + ", no point of this sweep");
    }
    return edit(bed, w, p);
  }
}

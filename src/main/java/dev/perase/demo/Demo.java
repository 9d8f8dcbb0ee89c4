package dev.perase.demo;

import dev.perase.Version;
import dev.perase.analysis.NeuronAnalysis;
import dev.perase.analysis.NeuronPruning;
import dev.perase.analysis.NeuronSettings;
import dev.perase.attack.AttackMethod;
import dev.perase.demo.StudyLayout.Prompts;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.Uce;
import dev.perase.erase.UceSettings;
import dev.perase.eval.EditFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.report.Report;
import dev.perase.world.Concept;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleConsumer;

/**
 * {@code perase demo}: the paper's study on the built-in world. For each test bed it erases the
 * concept with every method, measures each model (base included) on the test prompts (concept
 * erasure rate) and the retain prompts (Fréchet distance to the base model), attacks each with
 * UnlearnDiff and P4D, analyses the concept neurons of ESD and P-ESD (Eq. 4 and 5, Fig. 3, on the
 * attacked prompts and their UnlearnDiff versions), and gathers everything into {@link
 * StudyResults}. Every step writes its own folder and is skipped when its output exists, so an
 * interrupted demo resumes where it stopped; an interrupted erasure continues from its checkpoint.
 *
 * <p>Where each step writes: {@link StudyLayout}.
 */
public final class Demo {
  /** The erased models whose concept neurons are analysed: the paper's §4.5 compares these two. */
  static final List<EraseMethod> NEURON_METHODS = List.of(EraseMethod.ESD, EraseMethod.P_ESD);

  /** Prompts per neuron analysis that get heat maps (Fig. 3). */
  static final int NEURON_HEATMAPS = 2;

  private final DemoSettings s;
  private final StudyLayout layout;
  private final Listener listener;
  private final StudySteps steps;
  private StudyRun study;

  /** Overall progress, for a progress bar with time left. */
  public interface Listener {
    /**
     * Task {@code index} of {@code total} ({@code name}) starts; {@code skipped} if already done.
     */
    void task(int index, int total, String name, boolean skipped);

    /** Fraction of all the work done, by the plan's estimated cost of each task. */
    void progress(double fraction);
  }

  private Demo(DemoSettings s, Listener listener) {
    this.s = s;
    this.layout = StudyLayout.of(s);
    this.listener = listener;
    this.steps = new StudySteps(s.model(), s.detector(), s.steps(), 0);
  }

  /** The study's plan, in order; building it runs nothing. */
  static List<StudyRun.Task> plan(DemoSettings s) {
    return new Demo(s, null).plan();
  }

  /**
   * Runs (or resumes) the study and returns its results, also written to {@code OUT/study.json}.
   */
  public static StudyResults run(DemoSettings s, Listener listener) {
    return new Demo(s, listener).run();
  }

  private StudyResults run() {
    study = StudyRun.open(s.out(), s);
    study.execute(plan(), listener);
    StudyResults results = StudyResults.gather(s, study.timings());
    Json.write(layout.study(), results);
    return results;
  }

  /**
   * Runs (or resumes) the study, then writes its report ({@code OUT/report.html} with {@code
   * report.json}, charts and images) and returns the report's path.
   */
  public static Path runAndReport(DemoSettings s, Listener listener) {
    StudyResults results = run(s, listener);
    return Report.write(StudyReportBuilder.build(s, results), s.out());
  }

  /** The models of a bed: the base model, then one per method. */
  static List<String> models(DemoSettings s) {
    List<String> m = new ArrayList<>();
    m.add(StudyLayout.BASE);
    for (EraseMethod e : s.methods()) {
      m.add(e.json());
    }
    return m;
  }

  /**
   * The methods of the study whose concept neurons are analysed, in {@link #NEURON_METHODS} order.
   */
  static List<EraseMethod> neuronMethods(DemoSettings s) {
    return NEURON_METHODS.stream().filter(s.methods()::contains).toList();
  }

  /**
   * The prompts of a bed's neuron analyses: the attacked prompts, whose UnlearnDiff versions give
   * Eq. 5's pairs; the test prompts when no prompt is attacked.
   */
  private Path neuronPrompts(String bed) {
    return layout.prompts(bed, s.attackPrompts() > 0 ? Prompts.ATTACK : Prompts.TEST);
  }

  private List<StudyRun.Task> plan() {
    List<StudyRun.Task> plan = new ArrayList<>();
    for (String bed : s.beds()) {
      Concept concept = Concept.of(bed);
      plan.add(
          new StudyRun.Task(
              bed,
              "prompts",
              null,
              1,
              () -> Files.exists(layout.prompts(bed, Prompts.ATTACK)),
              f -> writePrompts(bed)));
      for (EraseMethod m : s.methods()) {
        plan.add(
            new StudyRun.Task(
                bed,
                "erase " + m.json(),
                layout.eraseDir(bed, m),
                eraseCost(m),
                () -> Files.exists(layout.artifact(bed, m)),
                f -> erase(bed, concept, m, f)));
      }
      for (String model : models(s)) {
        plan.add(
            new StudyRun.Task(
                bed,
                "evaluate " + model,
                layout.evaluateDir(bed, model),
                (s.testPrompts() + 2.0 * s.retainPrompts()) * s.steps() * 0.02,
                () ->
                    Files.exists(layout.evaluation(bed, model))
                        && (s.retainPrompts() < 2
                            || Files.exists(layout.renderedFrechet(bed, model)))
                        && (s.retainPrompts() < 1
                            || Files.exists(layout.retainFollowing(bed, model))),
                f -> evaluate(bed, concept, model, f)));
      }
      for (String model : models(s)) {
        for (AttackMethod a : AttackMethod.values()) {
          plan.add(
              new StudyRun.Task(
                  bed,
                  a.label() + " on " + model,
                  layout.attackDir(bed, model, a),
                  s.attackPrompts()
                      * s.attackAttempts()
                      * (s.attackIterations() * 0.05 + s.steps() * 0.02),
                  () -> Files.exists(layout.attack(bed, model, a)),
                  f -> attack(bed, concept, model, a, f)));
        }
      }
      for (EraseMethod m : neuronMethods(s)) {
        plan.add(
            new StudyRun.Task(
                bed,
                "neurons " + m.json(),
                layout.neuronsDir(bed, m),
                neuronsCost(),
                // the heat-map index is the analysis' last output
                () -> Files.exists(layout.heatMapIndex(bed, m)),
                f -> neurons(bed, m, f)));
      }
    }
    return plan;
  }

  /**
   * Each prompt is generated by the original and the erased model and, when attacked, once more
   * with its adversarial version; recording the conv2 inputs about doubles a generation's cost.
   */
  private double neuronsCost() {
    int prompts = s.attackPrompts() > 0 ? s.attackPrompts() : s.testPrompts();
    return 3.0 * prompts * s.steps() * 0.04;
  }

  private double eraseCost(EraseMethod m) {
    return switch (m.objective()) {
      case CLOSED_FORM -> 1;
      // Eq. 4 on the test prompts: two generations per prompt
      case CONCEPT_NEURONS -> 2.0 * s.testPrompts() * s.steps() * 0.02;
      // seconds per step on the world model: ESD-based steps sample x_t by DDIM first
      case ESD -> s.eraseSteps(m) * (0.1 + 0.01 * s.steps());
      default -> s.eraseSteps(m) * 0.15;
    };
  }

  private void writePrompts(String bed) {
    writePrompts(
        layout, s.promptSets(), bed, s.testPrompts(), s.retainPrompts(), s.attackPrompts());
  }

  /**
   * Writes a bed's prompt files: the first {@code test} and {@code retain} rows of its committed
   * test and retain sets ({@code <bed>.csv}, {@code <bed>_retain.csv} in {@code promptSets}); the
   * attack set is the first {@code attack} test rows.
   */
  static void writePrompts(
      StudyLayout layout, Path promptSets, String bed, int test, int retain, int attack) {
    String name = bed.toLowerCase(Locale.ROOT);
    List<PromptRow> testRows = PromptCsv.read(promptSets.resolve(name + ".csv"));
    List<PromptRow> retainRows = PromptCsv.read(promptSets.resolve(name + "_retain.csv"));
    if (testRows.size() < test || retainRows.size() < retain) {
      throw new BadInputException(
          String.format(
              Locale.ROOT,
              "the prompt sets of %s in %s have %d test and %d retain rows; the study asks for %d"
                  + " and %d",
              bed,
              promptSets,
              testRows.size(),
              retainRows.size(),
              test,
              retain));
    }
    PromptCsv.write(layout.prompts(bed, Prompts.TEST), testRows.subList(0, test));
    PromptCsv.write(layout.prompts(bed, Prompts.RETAIN), retainRows.subList(0, retain));
    PromptCsv.write(
        layout.prompts(bed, Prompts.ATTACK),
        testRows.subList(0, Math.min(attack, testRows.size())));
  }

  private void erase(String bed, Concept concept, EraseMethod m, DoubleConsumer fraction) {
    Path out = layout.eraseDir(bed, m);
    if (m == EraseMethod.UCE) {
      try (StableDiffusion sd = StableDiffusion.load(s.model())) {
        Uce.run(sd, UceSettings.defaults(concept.name()), out);
      }
      return;
    }
    if (m == EraseMethod.NP_ESD) {
      try (StableDiffusion sd = StableDiffusion.load(s.model())) {
        // the top-1 concept neurons of the bed's ESD model, measured on its test prompts
        NeuronPruning.run(
            sd,
            layout.artifact(bed, EraseMethod.ESD),
            layout.prompts(bed, Prompts.TEST),
            1,
            s.steps(),
            out);
      }
      return;
    }
    // the paper's layers, anchor and learning rate per concept kind, the study's steps
    StudySteps.Point p = new StudySteps.Point(m, s.eraseSteps(m), null, null, s.quick() ? 2 : null);
    // a run resumed from its final checkpoint runs no step and has no rate
    study.record(bed + ": erase " + m.json() + " s/step", steps.erase(concept, p, out, fraction));
  }

  private EditFile edit(String bed, String model) {
    if (model.equals(StudyLayout.BASE)) {
      return EditFile.NONE;
    }
    EraseMethod m = EraseMethod.parse(model);
    return StudySteps.edit(m, layout.artifact(bed, m));
  }

  private void evaluate(String bed, Concept concept, String model, DoubleConsumer fraction) {
    steps.evaluate(
        concept,
        edit(bed, model),
        layout.prompts(bed, Prompts.TEST),
        s.retainPrompts() > 0 ? layout.prompts(bed, Prompts.RETAIN) : null,
        s.retainPrompts(),
        layout.evaluateDir(bed, model),
        layout.retainCache(bed),
        fraction);
  }

  /**
   * The concept neurons of {@code m}'s model (Eq. 4 against the base model), their sensitivity to
   * its UnlearnDiff prompts (Eq. 5), the mask's pruned weights and the heat maps of Fig. 3, at the
   * study's DDIM step count with the analysis' default recorded steps and top-k.
   */
  private void neurons(String bed, EraseMethod m, DoubleConsumer fraction) {
    EditFile e = edit(bed, m.json());
    NeuronSettings ns =
        new NeuronSettings(
            neuronPrompts(bed),
            e,
            layout.attackDir(bed, m.json(), AttackMethod.UNLEARNDIFF),
            s.model(),
            null,
            s.steps(),
            null,
            NeuronSettings.DEFAULT_TOP_K,
            0,
            NEURON_HEATMAPS,
            0,
            layout.neuronsDir(bed, m),
            Version.NAME);
    long[] total = {1};
    NeuronAnalysis.run(
        ns,
        new NeuronAnalysis.Listener() {
          @Override
          public void start(long totalSteps) {
            total[0] = Math.max(1, totalSteps);
          }

          @Override
          public void progress(long stepsDone) {
            fraction.accept((double) stepsDone / total[0]);
          }
        });
  }

  private void attack(
      String bed, Concept concept, String model, AttackMethod a, DoubleConsumer fraction) {
    steps.attack(
        concept,
        edit(bed, model),
        a,
        layout.prompts(bed, Prompts.ATTACK),
        s.attackIterations(),
        s.attackAttempts(),
        layout.attackDir(bed, model, a),
        fraction);
  }
}

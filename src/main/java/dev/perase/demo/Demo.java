package dev.perase.demo;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Version;
import dev.perase.analysis.NeuronAnalysis;
import dev.perase.analysis.NeuronPruning;
import dev.perase.analysis.NeuronSettings;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackRun;
import dev.perase.attack.AttackSettings;
import dev.perase.attack.Relaxation;
import dev.perase.demo.StudyLayout.Prompts;
import dev.perase.erase.AcSettings;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.EraseRequest;
import dev.perase.erase.EraseSettings;
import dev.perase.erase.Erasure;
import dev.perase.erase.EsdSettings;
import dev.perase.erase.FmnSettings;
import dev.perase.erase.Uce;
import dev.perase.erase.UceSettings;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import dev.perase.eval.DetectorSpec;
import dev.perase.eval.EditFile;
import dev.perase.eval.EvaluateSettings;
import dev.perase.eval.Evaluation;
import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.io.Json;
import dev.perase.io.OutputPaths;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.report.Report;
import dev.perase.tensor.Torch;
import dev.perase.world.Concept;
import dev.perase.world.PaperDefaults;
import dev.perase.world.WorldConceptDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
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

  /** The settings that are paths, compared as absolute, normalised paths on resume. */
  private static final List<String> PATHS = List.of("model", "detector", "prompt_sets");

  private final DemoSettings s;
  private final StudyLayout layout;
  private final Listener listener;
  private final Map<String, Double> timings = new LinkedHashMap<>();

  /** Overall progress, for a progress bar with time left. */
  public interface Listener {
    /**
     * Task {@code index} of {@code total} ({@code name}) starts; {@code skipped} if already done.
     */
    void task(int index, int total, String name, boolean skipped);

    /** Fraction of all the work done, by the plan's estimated cost of each task. */
    void progress(double fraction);
  }

  /**
   * One step of the plan: its bed, what it does ({@code erase p-esd}, {@code unlearndiff on esd}),
   * the folder it writes with its {@code config.json} (null for the bed's prompt files), its
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

  private Demo(DemoSettings s, Listener listener) {
    this.s = s;
    this.layout = StudyLayout.of(s);
    this.listener = listener;
  }

  /** The study's plan, in order; building it runs nothing. */
  static List<Task> plan(DemoSettings s) {
    return new Demo(s, null).plan();
  }

  /**
   * Runs (or resumes) the study and returns its results, also written to {@code OUT/study.json}.
   */
  public static StudyResults run(DemoSettings s, Listener listener) {
    return new Demo(s, listener).run();
  }

  private StudyResults run() {
    OutputPaths.createFolder(s.out());
    try {
      Path timingsFile = layout.timings();
      if (Files.exists(timingsFile)) {
        Map<String, Double> earlier =
            Json.MAPPER.readValue(
                timingsFile.toFile(),
                Json.MAPPER
                    .getTypeFactory()
                    .constructMapType(LinkedHashMap.class, String.class, Double.class));
        timings.putAll(earlier);
      }
    } catch (IOException e) {
      throw FileAccessException.of("read", layout.timings(), e);
    }
    Path config = layout.config();
    if (Files.exists(config)) {
      refuseOtherStudy(config);
    }
    Json.write(config, s);
    List<Task> plan = plan();
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
        Json.write(layout.timings(), timings);
      }
      done += t.cost();
      listener.progress(done / total);
    }
    StudyResults results = StudyResults.gather(s, timings);
    Json.write(layout.study(), results);
    return results;
  }

  /**
   * A study folder is continued only with the settings it was started with: its finished steps are
   * skipped, so other settings (another scale, more prompts, other methods or model files) would
   * give a study that mixes two. The output folder itself may have moved.
   */
  private void refuseOtherStudy(Path config) {
    JsonNode before;
    try {
      before = Json.MAPPER.readTree(config.toFile());
    } catch (IOException e) {
      throw new BadInputException(config + " is not a readable demo config: " + e.getMessage(), e);
    }
    JsonNode now = Json.MAPPER.valueToTree(s);
    List<String> differ = new ArrayList<>();
    for (var it = now.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (field.equals("out")) {
        continue;
      }
      JsonNode a = before == null ? null : before.get(field);
      JsonNode b = now.get(field);
      boolean same =
          PATHS.contains(field)
              ? a != null && a.isTextual() && samePath(a.asText(), b.asText())
              : b.equals(a);
      if (!same) {
        differ.add(field);
      }
    }
    if (!differ.isEmpty()) {
      throw new BadInputException(
          s.out()
              + " holds a study made with other settings ("
              + String.join(", ", differ)
              + "); choose another --out, or delete the folder to start over");
    }
  }

  private static boolean samePath(String a, String b) {
    return Path.of(a).toAbsolutePath().normalize().equals(Path.of(b).toAbsolutePath().normalize());
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

  private List<Task> plan() {
    List<Task> plan = new ArrayList<>();
    for (String bed : s.beds()) {
      Concept concept = Concept.of(bed);
      plan.add(
          new Task(
              bed,
              "prompts",
              null,
              1,
              () -> Files.exists(layout.prompts(bed, Prompts.ATTACK)),
              f -> writePrompts(bed)));
      for (EraseMethod m : s.methods()) {
        plan.add(
            new Task(
                bed,
                "erase " + m.json(),
                layout.eraseDir(bed, m),
                eraseCost(m),
                () -> Files.exists(layout.artifact(bed, m)),
                f -> erase(bed, concept, m, f)));
      }
      for (String model : models(s)) {
        plan.add(
            new Task(
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
              new Task(
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
            new Task(
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

  /** The first N rows of the bed's committed test and retain sets; the attack set is a prefix. */
  private void writePrompts(String bed) {
    String name = bed.toLowerCase(Locale.ROOT);
    List<PromptRow> test = PromptCsv.read(s.promptSets().resolve(name + ".csv"));
    List<PromptRow> retain = PromptCsv.read(s.promptSets().resolve(name + "_retain.csv"));
    if (test.size() < s.testPrompts() || retain.size() < s.retainPrompts()) {
      throw new BadInputException(
          "the prompt sets of "
              + bed
              + " in "
              + s.promptSets()
              + " have fewer rows than the demo asks for");
    }
    PromptCsv.write(layout.prompts(bed, Prompts.TEST), test.subList(0, s.testPrompts()));
    PromptCsv.write(layout.prompts(bed, Prompts.RETAIN), retain.subList(0, s.retainPrompts()));
    PromptCsv.write(
        layout.prompts(bed, Prompts.ATTACK),
        test.subList(0, Math.min(s.attackPrompts(), test.size())));
  }

  private void erase(String bed, Concept concept, EraseMethod m, DoubleConsumer fraction) {
    Path out = layout.eraseDir(bed, m);
    boolean resume = Files.exists(out.resolve("checkpoint.safetensors"));
    try (StableDiffusion sd = StableDiffusion.load(s.model())) {
      if (m == EraseMethod.UCE) {
        Uce.run(sd, UceSettings.defaults(concept.name()), out);
        return;
      }
      if (m == EraseMethod.NP_ESD) {
        // the top-1 concept neurons of the bed's ESD model, measured on its test prompts
        NeuronPruning.run(
            sd,
            layout.artifact(bed, EraseMethod.ESD),
            layout.prompts(bed, Prompts.TEST),
            1,
            s.steps(),
            out);
        return;
      }
      // the paper's layers and anchor per concept kind (FMN: cross-attention), the study's steps;
      // x_t (ESD) is sampled with the study's DDIM step count
      int steps = s.eraseSteps(m);
      EsdSettings esd = EsdSettings.DEFAULT;
      EraseRequest request =
          new EraseRequest(
              m,
              concept.name(),
              null,
              null,
              null,
              steps,
              null,
              null,
              null,
              0,
              Math.max(1, steps / 4),
              resume,
              null,
              new EsdSettings(
                  esd.negativeGuidance(), esd.startGuidance(), s.steps(), esd.xtSource()),
              null,
              null,
              null,
              null,
              null,
              null,
              null,
              null);
      EraseSettings settings =
          request.settings(
              sd,
              request.layerChoice(PaperDefaults.CONCEPT_DEFAULTS).selection(),
              request.anchorPrompt(PaperDefaults.CONCEPT_DEFAULTS));
      // the anchor (AC) and concept (FMN) images too
      if (settings.fmn() != null) {
        FmnSettings f = settings.fmn();
        settings =
            settings.withFmn(
                new FmnSettings(
                    s.quick() ? 2 : f.poolSize(), s.steps(), f.poolGuidance(), f.batchSize()));
      }
      if (settings.ac() != null) {
        AcSettings a = settings.ac();
        settings =
            settings.withAc(
                new AcSettings(a.poolSize(), s.steps(), a.poolGuidance(), a.batchSize()));
      }
      int total = settings.steps();
      Erasure e =
          EraseRequest.train(sd, settings, out, resume, k -> fraction.accept((double) k / total));
      // a run resumed from its final checkpoint runs no step and has no rate
      if (Double.isFinite(e.secondsPerStep())) {
        timings.put(bed + ": erase " + m.json() + " s/step", e.secondsPerStep());
      }
    }
  }

  private EditFile edit(String bed, String model) {
    if (model.equals(StudyLayout.BASE)) {
      return EditFile.NONE;
    }
    EraseMethod m = EraseMethod.parse(model);
    Path a = layout.artifact(bed, m);
    return m.pruning() ? new EditFile.Mask(a) : new EditFile.Weights(a);
  }

  private void evaluate(String bed, Concept concept, String model, DoubleConsumer fraction) {
    EditFile e = edit(bed, model);
    EvaluateSettings es =
        new EvaluateSettings(
            layout.prompts(bed, Prompts.TEST),
            e,
            s.model(),
            new DetectorSpec(DetectorSpec.Kind.WORLD, s.detector()),
            concept.name(),
            ConceptRule.TOP1,
            s.retainPrompts() > 0 ? layout.prompts(bed, Prompts.RETAIN) : null,
            s.steps(),
            0,
            layout.evaluateDir(bed, model),
            layout.retainCache(bed),
            Version.NAME);
    long[] phaseTotal = {1};
    try (NDManager manager = Torch.newManager();
        Detector detector = worldDetector(concept, manager)) {
      Evaluation.run(
          es,
          detector,
          new Evaluation.Listener() {
            @Override
            public void phase(String name, long totalSteps) {
              phaseTotal[0] = Math.max(1, totalSteps);
            }

            @Override
            public void progress(long stepsDone) {
              fraction.accept((double) stepsDone / phaseTotal[0]);
            }
          });
      if (s.retainPrompts() > 0) {
        RetainFollowing.write(
            layout.evaluateDir(bed, model), layout.prompts(bed, Prompts.RETAIN), detector, manager);
      }
    }
    if (s.retainPrompts() > 1) {
      RenderedFrechet.write(
          layout.evaluateDir(bed, model), layout.prompts(bed, Prompts.RETAIN), s.detector());
    }
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
    EditFile e = edit(bed, model);
    AttackSettings as =
        new AttackSettings(
            a,
            layout.prompts(bed, Prompts.ATTACK),
            e,
            s.model(),
            new DetectorSpec(DetectorSpec.Kind.WORLD, s.detector()),
            concept.name(),
            ConceptRule.TOP1,
            concept.kind().attackTokens(),
            s.attackIterations(),
            s.steps(),
            s.attackAttempts(),
            AttackSettings.DEFAULT_LEARNING_RATE,
            AttackSettings.DEFAULT_WEIGHT_DECAY,
            Relaxation.SAMPLED,
            List.of(),
            0,
            layout.attackDir(bed, model, a),
            Version.NAME);
    long[] phaseTotal = {1};
    try (NDManager manager = Torch.newManager();
        Detector detector = worldDetector(concept, manager)) {
      AttackRun.run(
          as,
          detector,
          new AttackRun.Listener() {
            @Override
            public void phase(String name, long total, String unit) {
              phaseTotal[0] = Math.max(1, total);
            }

            @Override
            public void progress(long done) {
              fraction.accept((double) done / phaseTotal[0]);
            }
          });
    }
  }

  /** The world's detector of the study, bound to a bed's concept (rule top-1). */
  private Detector worldDetector(Concept concept, NDManager manager) {
    return WorldConceptDetector.load(s.detector(), manager, concept, ConceptRule.TOP1);
  }
}

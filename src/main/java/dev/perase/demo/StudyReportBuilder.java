package dev.perase.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.analysis.HeatMaps;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.attack.AttackRun;
import dev.perase.attack.AttemptResult;
import dev.perase.attack.PromptAttackResult;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.EraseMethod;
import dev.perase.eval.Interval;
import dev.perase.eval.PromptFollowing;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.SafeTensors;
import dev.perase.report.Bounds;
import dev.perase.report.Following;
import dev.perase.report.GridFigure;
import dev.perase.report.HeatMapFigure;
import dev.perase.report.HeatMapPanel;
import dev.perase.report.LayerPruning;
import dev.perase.report.MethodRow;
import dev.perase.report.PrunedWeights;
import dev.perase.report.Sensitivity;
import dev.perase.report.SensitivitySeries;
import dev.perase.report.Setting;
import dev.perase.report.Step;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import dev.perase.report.TradeOff;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Turns a study's folders into the report's data model: the tables from {@link StudyResults}, image
 * grids of the same prompts and seeds across models (without and with attack: the paper's Figs. 1
 * and 4), the neuron analyses of ESD and P-ESD (sensitivity, Figs. 2 and 5; heat maps, Fig. 3), the
 * masks' pruned weights by layer (Fig. 6), and every step's settings and wall time. A figure whose
 * data a step has not (yet) written is left out.
 */
final class StudyReportBuilder {
  /** Prompts shown per image grid. */
  static final int GRID_COLUMNS = 6;

  /** Retain prompts shown in their grid: enough to see whether a model follows them. */
  static final int RETAIN_COLUMNS = 10;

  private StudyReportBuilder() {}

  static StudyReport build(DemoSettings s, StudyResults results) {
    List<TestBed> beds = new ArrayList<>();
    for (int b = 0; b < results.beds().size(); b++) {
      StudyResults.Bed bed = results.beds().get(b);
      String name = s.beds().get(b);
      List<MethodRow> rows = new ArrayList<>();
      for (StudyResults.Row r : bed.rows()) {
        boolean base = r.model().equals(StudyLayout.BASE);
        Double seconds =
            base ? null : results.timings().get(bed.concept() + ": erase " + r.model());
        rows.add(methodRow(label(r.model()), base, r, seconds));
      }
      List<GridFigure> grids = new ArrayList<>();
      GridFigure plain = testGrid(s, bed.concept());
      if (plain != null) {
        grids.add(plain);
      }
      for (AttackMethod a : AttackMethod.values()) {
        GridFigure attacked = attackGrid(s, bed.concept(), a);
        if (attacked != null) {
          grids.add(attacked);
        }
      }
      GridFigure retain = retainGrid(s, bed.concept());
      if (retain != null) {
        grids.add(retain);
      }
      beds.add(
          new TestBed(
              bed.concept() + " (" + bed.kind() + ")",
              bed.concept(),
              bed.kind(),
              bed.testPrompts(),
              rows,
              grids,
              heatMaps(s, name),
              sensitivity(s, name),
              prunedWeights(s, name),
              note(bed),
              bed.claims() == null
                  ? List.of()
                  : bed.claims().stream().map(PaperClaim::sentence).toList(),
              tradeOff(bed)));
    }
    return new StudyReport(
        "perase demo: pruning for robust concept erasing on the built-in world",
        description(s),
        Instant.now().toString(),
        environment(s),
        beds,
        steps(s, results.timings()));
  }

  /** A study's row as the report's table shows it, under {@code label}. */
  static MethodRow methodRow(String label, boolean base, StudyResults.Row r, Double seconds) {
    return new MethodRow(
        label,
        base,
        r.cerTest(),
        r.cerUnlearnDiff(),
        r.cerP4d(),
        retainDistance(r.retainFrechet()),
        r.prunedRatio(),
        seconds,
        r.retainFrechetRendered(),
        bounds(r.cerTestInterval()),
        bounds(r.cerUnlearnDiffInterval()),
        bounds(r.cerP4dInterval()),
        bounds(r.retainFrechetInterval()),
        bounds(r.retainFrechetRenderedInterval()),
        following(r.promptFollowing()));
  }

  /** An interval as the report shows it; null stays null. */
  static Bounds bounds(Interval i) {
    return i == null ? null : new Bounds(i.lo(), i.hi());
  }

  /** The detector's agreement per head as the report shows it; empty when not measured. */
  static List<Following> following(PromptFollowing f) {
    List<Following> out = new ArrayList<>();
    if (f != null) {
      for (PromptFollowing.Agreement a : f.heads()) {
        out.add(
            new Following(
                a.head(), a.asked(), a.share(), a.asked() == 0 ? null : bounds(a.interval())));
      }
    }
    return out;
  }

  /**
   * The bed's main figure: CER under UnlearnDiff (y) against the retain Fréchet distance to the
   * base model (x), one series per model that has both. Each method of this study is run once, so
   * each series is one point; a sweep hands {@link TradeOff.Series} several points, labelled by the
   * knob's value. Null when no model has both numbers.
   */
  static TradeOff tradeOff(StudyResults.Bed bed) {
    List<TradeOff.Series> series = new ArrayList<>();
    for (StudyResults.Row r : bed.rows()) {
      TradeOff.Series one = pointSeries(r);
      if (one != null) {
        series.add(one);
      }
    }
    return tradeOff("Robustness against retain damage: " + bed.concept(), series);
  }

  /**
   * A model's point of the trade-off chart as a series of its own, or null when the model lacks the
   * retain distance or the CER under UnlearnDiff.
   */
  static TradeOff.Series pointSeries(StudyResults.Row r) {
    Double x = retainDistance(r.retainFrechet());
    if (x == null || r.cerUnlearnDiff() == null) {
      return null;
    }
    return new TradeOff.Series(
        label(r.model()), null, List.of(new TradeOff.Point(x, r.cerUnlearnDiff(), null)));
  }

  /**
   * The trade-off chart titled {@code title}: CER under UnlearnDiff against the retain Fréchet
   * distance. Null when {@code series} is empty.
   */
  static TradeOff tradeOff(String title, List<TradeOff.Series> series) {
    if (series.isEmpty()) {
      return null;
    }
    return new TradeOff(
        title,
        "retain Fréchet distance to the base model (lower is better)",
        "CER under UnlearnDiff (higher is better)",
        series);
  }

  /**
   * A Fréchet distance as the table shows it: the distance is ≥ 0, but its square-root term's
   * rounding puts two (nearly) identical image sets, such as the base model's against itself or a
   * mask that pruned nothing, at about −1e-5; those show as 0.
   */
  static Double retainDistance(Double measured) {
    return measured == null ? null : Math.max(0, measured);
  }

  /**
   * Eq. 5 per recorded step for ESD and P-ESD: the mean ± std over the concept neurons and over the
   * other neurons, from each neuron analysis' {@code sensitivity.json}. Null when neither has one
   * (no analysis yet, or its attack produced no adversarial prompt); a run recorded at other steps
   * than the first one found is left out.
   */
  static Sensitivity sensitivity(DemoSettings s, String bed) {
    StudyLayout layout = StudyLayout.of(s);
    List<Integer> steps = null;
    List<SensitivitySeries> series = new ArrayList<>();
    List<String> parts = new ArrayList<>();
    for (EraseMethod m : Demo.neuronMethods(s)) {
      Path file = layout.sensitivity(bed, m);
      if (!Files.isRegularFile(file)) {
        continue;
      }
      dev.perase.analysis.Sensitivity r = Json.read(file, dev.perase.analysis.Sensitivity.class);
      List<Integer> at = r.perStep().stream().map(p -> p.step()).toList();
      if (at.isEmpty() || (steps != null && !steps.equals(at))) {
        continue;
      }
      String label = label(m.json());
      SensitivitySeries concept =
          series(label, "concept", r.perStep().stream().map(p -> p.concept()).toList());
      SensitivitySeries other =
          series(label, "non-concept", r.perStep().stream().map(p -> p.other()).toList());
      if (concept == null || other == null) {
        continue;
      }
      steps = at;
      series.add(concept);
      series.add(other);
      parts.add(
          String.format(
              Locale.ROOT,
              "%s: %d prompt pair%s, top %d concept neurons per layer",
              label,
              r.pairs().size(),
              r.pairs().size() == 1 ? "" : "s",
              r.topK()));
    }
    if (series.isEmpty()) {
      return null;
    }
    return new Sensitivity(
        "Eq. 5 on the erased model: each neuron's change between a prompt and its UnlearnDiff"
            + " version (L2 over its map, averaged over the pairs); bars: mean over the concept"
            + " neurons (Eq. 4, this model against the base model) and over the other neurons,"
            + " whiskers: their standard deviation. "
            + String.join("; ", parts)
            + ".",
        steps,
        series);
  }

  /** A group's mean and std per step, or null when a step has no finite values (an empty group). */
  private static SensitivitySeries series(
      String method, String neurons, List<dev.perase.analysis.Sensitivity.Distribution> perStep) {
    List<Double> mean = new ArrayList<>();
    List<Double> std = new ArrayList<>();
    for (dev.perase.analysis.Sensitivity.Distribution d : perStep) {
      if (d.count() == 0 || !Double.isFinite(d.mean()) || !Double.isFinite(d.std())) {
        return null;
      }
      mean.add(d.mean());
      std.add(d.std());
    }
    return new SensitivitySeries(method, neurons, mean, std);
  }

  /**
   * Fig. 3 from the heat maps of the ESD and P-ESD analyses: per heat-map prompt, the original
   * model, the erased model and the erased model given the adversarial prompt, each panel its image
   * with the combined map of the model's concept neurons. Empty when no analysis has heat maps.
   */
  static List<HeatMapFigure> heatMaps(DemoSettings s, String bed) {
    StudyLayout layout = StudyLayout.of(s);
    List<HeatMapFigure> figures = new ArrayList<>();
    for (EraseMethod m : Demo.neuronMethods(s)) {
      Path dir = layout.heatMaps(bed, m);
      Path index = layout.heatMapIndex(bed, m);
      if (!Files.isRegularFile(index)) {
        continue;
      }
      String label = label(m.json());
      for (HeatMaps.Entry e : Json.read(index, HeatMaps.Entry[].class)) {
        HeatMapFigure f = heatMap(dir, label, e);
        if (f != null) {
          figures.add(f);
        }
      }
    }
    return figures;
  }

  private static HeatMapFigure heatMap(Path dir, String method, HeatMaps.Entry e) {
    if (e.images() == null || e.file() == null || !Files.isRegularFile(dir.resolve(e.file()))) {
      return null;
    }
    List<HeatMapPanel> panels = new ArrayList<>();
    try (SafeTensors st = SafeTensors.open(dir.resolve(e.file()))) {
      for (String condition : HeatMaps.CONDITIONS) {
        String image = e.images().get(condition);
        String key = condition + ".combined";
        if (image == null || !st.has(key) || !Files.isRegularFile(dir.resolve(image))) {
          continue;
        }
        double[][] map = plane(st, key);
        if (map == null) {
          return null;
        }
        String panel =
            switch (condition) {
              case "original" -> label(StudyLayout.BASE);
              case "erased" -> method;
              default -> method + " + UnlearnDiff";
            };
        panels.add(new HeatMapPanel(panel, dir.resolve(image).toAbsolutePath().toString(), map));
      }
    }
    if (panels.size() < 2) {
      return null;
    }
    String caption =
        String.format(
            Locale.ROOT,
            "\"%s\" (case %d, seed %d)%s. Step %d (t = %d): the maps of %s's concept neurons (Eq."
                + " 4 against the base model) summed per layer, each layer scaled by its largest"
                + " value over the panels, layers averaged; one colour scale for the row.",
            e.prompt(),
            e.caseNumber(),
            e.seed(),
            e.adversarialPrompt() == null
                ? ""
                : "; adversarial prompt \"" + e.adversarialPrompt() + "\"",
            e.step(),
            e.timestep(),
            method);
    return new HeatMapFigure(
        "Concept neurons of " + method + ", case " + e.caseNumber(), caption, panels, null, null);
  }

  /** A (H, W) F32 tensor as rows, or null when it is not a finite plane. */
  private static double[][] plane(SafeTensors st, String key) {
    long[] shape = st.info(key).shape();
    if (shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
      return null;
    }
    float[] v = st.floats(key);
    int h = (int) shape[0];
    int w = (int) shape[1];
    double[][] map = new double[h][w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float f = v[y * w + x];
        if (!Float.isFinite(f)) {
          return null;
        }
        map[y][x] = f;
      }
    }
    return map;
  }

  /**
   * Fig. 6: where each pruning method's mask pruned, layer by layer ({@link
   * dev.perase.analysis.PrunedWeights}), for every mask the study has.
   */
  static List<PrunedWeights> prunedWeights(DemoSettings s, String bed) {
    List<PrunedWeights> figures = new ArrayList<>();
    for (EraseMethod m : s.methods()) {
      Path mask = StudyLayout.of(s).artifact(bed, m);
      PrunedWeights p = m.pruning() ? prunedWeights(label(m.json()), mask) : null;
      if (p != null) {
        figures.add(p);
      }
    }
    return figures;
  }

  /** Where one mask pruned, layer by layer, shown as {@code label}; null without the file. */
  static PrunedWeights prunedWeights(String label, Path mask) {
    if (!Files.isRegularFile(mask)) {
      return null;
    }
    BinaryMask binary = BinaryMask.read(mask);
    dev.perase.analysis.PrunedWeights p = dev.perase.analysis.PrunedWeights.of(binary);
    List<LayerPruning> layers = new ArrayList<>();
    for (dev.perase.analysis.PrunedWeights.Group g : p.byLayer()) {
      if (g.total() > 0) {
        layers.add(new LayerPruning(g.name(), g.layerType(), g.pruned(), g.total()));
      }
    }
    if (layers.isEmpty()) {
      return null;
    }
    return new PrunedWeights(
        label,
        String.format(
            Locale.ROOT,
            "%,d of %,d weights of the %s selection pruned (ratio %.3g), over %d layers.",
            p.pruned(),
            p.total(),
            binary.metadata().selection(),
            p.total() == 0 ? 0.0 : (double) p.pruned() / p.total(),
            layers.size()),
        layers);
  }

  /** The method's name as the paper writes it; the study's base model is the world's, not SD. */
  static String label(String model) {
    return model.equals(StudyLayout.BASE) ? "base model" : model.toUpperCase(Locale.ROOT);
  }

  private static String note(StudyResults.Bed bed) {
    return String.format(
        Locale.ROOT,
        "CER on %d test prompts; UnlearnDiff and P4D on the first %d of them; Fréchet distance"
            + " between detector features of each model's and the base model's images of %d retain"
            + " prompts (0 for the base model by definition).",
        bed.testPrompts(),
        bed.attackPrompts(),
        bed.retainPrompts());
  }

  private static String description(DemoSettings s) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        s.quick()
            ? "Quick smoke-test scale (--quick): the numbers show the plumbing, not the method. "
            : "");
    sb.append(
        String.format(
            Locale.ROOT,
            "%d test prompts, %d retain prompts and %d attacked prompts per test bed (the paper"
                + " uses its full prompt sets); %d DDIM steps per image; attacks: %d attempts ×"
                + " %d iterations (paper: 10 × 40); erasing steps: ",
            s.testPrompts(),
            s.retainPrompts(),
            s.attackPrompts(),
            s.steps(),
            s.attackAttempts(),
            s.attackIterations()));
    List<String> parts = new ArrayList<>();
    for (EraseMethod m : s.methods()) {
      if (s.eraseSteps().containsKey(m.json())) {
        parts.add(label(m.json()) + " " + s.eraseSteps(m));
      }
    }
    sb.append(String.join(", ", parts)).append(".");
    return sb.toString();
  }

  private static List<Setting> environment(DemoSettings s) {
    return environment(s.model(), s.detector());
  }

  /** Versions, machine and inputs of a study on {@code model} judged by {@code detector}. */
  static List<Setting> environment(Path model, Path detector) {
    List<Setting> env = new ArrayList<>();
    env.add(new Setting("perase", dev.perase.Version.NAME));
    env.add(new Setting("java", System.getProperty("java.version")));
    env.add(new Setting("os", System.getProperty("os.name") + " " + System.getProperty("os.arch")));
    env.add(new Setting("cpu cores", Integer.toString(Runtime.getRuntime().availableProcessors())));
    env.add(new Setting("model", model.toString()));
    env.add(new Setting("detector", detector.toString()));
    return env;
  }

  /**
   * Every timed step of the plan, with its folder's settings; the erasing rates ({@code … s/step})
   * are no step of the plan and are left out.
   */
  private static List<Step> steps(DemoSettings s, Map<String, Double> timings) {
    return steps(s.out(), Demo.plan(s), timings);
  }

  /** Every timed task of {@code tasks}, with its folder's settings, in the timings' order. */
  static List<Step> steps(Path out, List<StudyRun.Task> tasks, Map<String, Double> timings) {
    Map<String, StudyRun.Task> plan = new HashMap<>();
    for (StudyRun.Task t : tasks) {
      plan.put(t.name(), t);
    }
    List<Step> steps = new ArrayList<>();
    for (Map.Entry<String, Double> e : timings.entrySet()) {
      StudyRun.Task task = plan.get(e.getKey());
      if (task == null) {
        continue;
      }
      Path folder = task.folder();
      List<Setting> settings = List.of();
      if (folder != null && Files.exists(folder.resolve(StudyLayout.CONFIG))) {
        settings = Setting.flatten(readTree(folder.resolve(StudyLayout.CONFIG)));
      }
      steps.add(
          new Step(
              task.name(),
              task.bed(),
              folder == null ? null : out.relativize(folder).toString(),
              e.getValue(),
              settings));
    }
    return steps;
  }

  /** Rows: models; columns: the first test prompts; cells: each model's image (same seed). */
  private static GridFigure testGrid(DemoSettings s, String bed) {
    StudyLayout layout = StudyLayout.of(s);
    return promptGrid(
        s,
        layout.prompts(bed, StudyLayout.Prompts.TEST),
        GRID_COLUMNS,
        (model, i) -> layout.testImage(bed, model, i),
        "Test prompts, no attack",
        "The same prompts and seeds for every model (the paper's Fig. 1): ");
  }

  /**
   * Rows: models; columns: the first retain prompts; cells: each model's image (same seed): whether
   * a model still draws what it is asked for things it should keep.
   */
  private static GridFigure retainGrid(DemoSettings s, String bed) {
    if (s.retainPrompts() < 1) {
      return null;
    }
    StudyLayout layout = StudyLayout.of(s);
    return promptGrid(
        s,
        layout.prompts(bed, StudyLayout.Prompts.RETAIN),
        RETAIN_COLUMNS,
        (model, i) -> layout.retainImage(bed, model, i),
        "Retain prompts",
        "What each model draws for prompts it should keep, the same prompts and seeds for every"
            + " model: ");
  }

  /**
   * Rows: models; columns: the first {@code columns} prompts of a file; cells: {@code image(model,
   * i)} where it exists. Null when the file or every image is missing.
   */
  private static GridFigure promptGrid(
      DemoSettings s,
      Path prompts,
      int columns,
      BiFunction<String, Integer, Path> image,
      String title,
      String caption) {
    List<String> labels = new ArrayList<>();
    List<Function<Integer, Path>> images = new ArrayList<>();
    for (String model : Demo.models(s)) {
      labels.add(label(model));
      images.add(i -> image.apply(model, i));
    }
    return promptGrid(prompts, columns, labels, images, title, caption);
  }

  /**
   * Rows: {@code labels}, each with its {@code images} (prompt index → file); columns: the first
   * {@code columns} prompts of a file. Null when the file or every image is missing.
   */
  static GridFigure promptGrid(
      Path prompts,
      int columns,
      List<String> labels,
      List<Function<Integer, Path>> images,
      String title,
      String caption) {
    if (!Files.exists(prompts)) {
      return null;
    }
    List<PromptRow> rows = PromptCsv.read(prompts);
    int n = Math.min(columns, rows.size());
    List<List<String>> cells = new ArrayList<>();
    boolean any = false;
    for (Function<Integer, Path> image : images) {
      List<String> line = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Path img = image.apply(i);
        line.add(Files.exists(img) ? img.toAbsolutePath().toString() : null);
        any |= Files.exists(img);
      }
      cells.add(line);
    }
    if (!any) {
      return null;
    }
    return new GridFigure(
        title, caption + columnText(rows.subList(0, n)), labels, columnNumbers(n), cells, null);
  }

  /** Rows: models; columns: attacked prompts; cells: the breaking attempt's image, or the last. */
  private static GridFigure attackGrid(DemoSettings s, String bed, AttackMethod a) {
    StudyLayout layout = StudyLayout.of(s);
    List<String> rowLabels = new ArrayList<>();
    List<List<String>> cells = new ArrayList<>();
    int columns = Math.min(GRID_COLUMNS, s.attackPrompts());
    if (columns == 0) {
      return null;
    }
    boolean any = false;
    List<String> adversarial = new ArrayList<>();
    for (String model : Demo.models(s)) {
      Path dir = layout.attackDir(bed, model, a);
      Path results = layout.attack(bed, model, a);
      List<String> line = new ArrayList<>();
      List<PromptAttackResult> perPrompt =
          Files.exists(results) ? Json.read(results, AttackResults.class).perPrompt() : List.of();
      for (int i = 0; i < columns; i++) {
        String img = null;
        if (i < perPrompt.size()) {
          PromptAttackResult p = perPrompt.get(i);
          img = attackImage(dir, p);
          if (model.equals(EraseMethod.P_ESD.json()) || model.equals(EraseMethod.ESD.json())) {
            adversarial.add(label(model) + " #" + (i + 1) + ": " + p.adversarialPrompt());
          }
        }
        any |= img != null;
        line.add(img);
      }
      rowLabels.add(label(model));
      cells.add(line);
    }
    if (!any) {
      return null;
    }
    return new GridFigure(
        "Under " + (a == AttackMethod.P4D ? "P4D" : "UnlearnDiff"),
        "Each model's image for its own adversarial prompt (the attempt that broke it, else the"
            + " last attempt; the paper's Fig. 4). Adversarial prompts: "
            + String.join(" | ", adversarial),
        rowLabels,
        columnNumbers(columns),
        cells,
        null);
  }

  /** The image of the attempt that broke the prompt, else of its last attempt; null if none. */
  private static String attackImage(Path runDir, PromptAttackResult result) {
    Path file = runDir.resolve(result.folder()).resolve(AttackRun.ATTEMPTS);
    if (!Files.exists(file)) {
      return null;
    }
    AttemptResult[] attempts = Json.read(file, AttemptResult[].class);
    if (attempts.length == 0) {
      return null;
    }
    AttemptResult chosen = attempts[attempts.length - 1];
    if (result.broken()) {
      for (AttemptResult attempt : attempts) {
        if (attempt.attempt() == result.brokenAt()) {
          chosen = attempt;
        }
      }
    }
    Path img = runDir.resolve(chosen.image());
    return Files.exists(img) ? img.toAbsolutePath().toString() : null;
  }

  private static List<String> columnNumbers(int n) {
    List<String> l = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      l.add("#" + i);
    }
    return l;
  }

  private static String columnText(List<PromptRow> rows) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      parts.add(
          "#" + (i + 1) + " \"" + rows.get(i).prompt() + "\" (seed " + rows.get(i).seed() + ")");
    }
    return String.join(", ", parts);
  }

  /** A step's {@code config.json}, as any settings record wrote it. */
  private static JsonNode readTree(Path file) {
    try {
      return Json.MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}

package dev.perase.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackRun;
import dev.perase.erase.EraseMethod;
import dev.perase.eval.Evaluation;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.report.GridFigure;
import dev.perase.report.MethodRow;
import dev.perase.report.Setting;
import dev.perase.report.Step;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a study's folders into the report's data model: the tables from {@link StudyResults}, image
 * grids of the same prompts and seeds across models (without and with attack: the paper's Figs. 1
 * and 4), and every step's settings and wall time.
 */
final class StudyReportBuilder {
  /** Prompts shown per image grid. */
  private static final int GRID_COLUMNS = 6;

  private StudyReportBuilder() {}

  static StudyReport build(DemoSettings s, StudyResults results, List<TestBed> extraFigures) {
    List<TestBed> beds = new ArrayList<>();
    for (int b = 0; b < results.beds().size(); b++) {
      StudyResults.Bed bed = results.beds().get(b);
      TestBed extra = extraFigures == null ? null : extraFigures.get(b);
      List<MethodRow> rows = new ArrayList<>();
      for (StudyResults.Row r : bed.rows()) {
        boolean base = r.model().equals(Demo.BASE);
        Double seconds = base ? null : results.timings().get(bed.concept() + ": erase " + r.model());
        rows.add(
            new MethodRow(
                label(r.model()),
                base,
                r.cerTest(),
                r.cerUnlearnDiff(),
                r.cerP4d(),
                r.retainFrechet(),
                r.prunedRatio(),
                seconds));
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
      beds.add(
          new TestBed(
              bed.concept() + " (" + bed.kind() + ")",
              bed.concept(),
              bed.kind(),
              bed.testPrompts(),
              rows,
              grids,
              extra == null ? null : extra.heatMaps(),
              extra == null ? null : extra.sensitivity(),
              extra == null ? null : extra.prunedWeights(),
              note(bed)));
    }
    return new StudyReport(
        "perase demo: pruning for robust concept erasing on the built-in world",
        description(s),
        Instant.now().toString(),
        environment(s),
        beds,
        steps(s, results.timings()));
  }

  /** The method's name as the paper writes it. */
  static String label(String model) {
    return model.equals(Demo.BASE) ? "base (SD)" : model.toUpperCase(Locale.ROOT);
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
    sb.append(s.quick() ? "Quick smoke-test scale (--quick): the numbers show the plumbing, not the method. " : "");
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
      parts.add(label(m.json()) + " " + s.eraseSteps(m));
    }
    sb.append(String.join(", ", parts)).append(".");
    return sb.toString();
  }

  private static List<Setting> environment(DemoSettings s) {
    List<Setting> env = new ArrayList<>();
    env.add(new Setting("perase", dev.perase.Version.NAME));
    env.add(new Setting("java", System.getProperty("java.version")));
    env.add(new Setting("os", System.getProperty("os.name") + " " + System.getProperty("os.arch")));
    env.add(new Setting("cpu cores", Integer.toString(Runtime.getRuntime().availableProcessors())));
    env.add(new Setting("model", s.model().toString()));
    env.add(new Setting("detector", s.detector().toString()));
    return env;
  }

  private static List<Step> steps(DemoSettings s, Map<String, Double> timings) {
    List<Step> steps = new ArrayList<>();
    for (Map.Entry<String, Double> e : timings.entrySet()) {
      String name = e.getKey();
      if (name.endsWith(" s/step")) {
        continue;
      }
      int colon = name.indexOf(": ");
      String bed = colon < 0 ? null : name.substring(0, colon);
      Path folder = colon < 0 ? null : folderOf(s, bed, name.substring(colon + 2));
      List<Setting> settings = List.of();
      if (folder != null && Files.exists(folder.resolve("config.json"))) {
        settings = Setting.flatten(readJson(folder.resolve("config.json")));
      }
      steps.add(
          new Step(name, bed, folder == null ? null : s.out().relativize(folder).toString(), e.getValue(), settings));
    }
    return steps;
  }

  /** The folder of a plan step named "erase p-esd", "evaluate base", "unlearndiff on esd". */
  private static Path folderOf(DemoSettings s, String bed, String what) {
    if (what.startsWith("erase ")) {
      return Demo.eraseDir(s, bed, EraseMethod.parse(what.substring(6)));
    }
    if (what.startsWith("evaluate ")) {
      return Demo.evaluateDir(s, bed, what.substring(9));
    }
    int on = what.indexOf(" on ");
    if (on > 0) {
      return Demo.attackDir(s, bed, what.substring(on + 4), AttackMethod.parse(what.substring(0, on)));
    }
    return null;
  }

  /** Rows: models; columns: the first test prompts; cells: each model's image (same seed). */
  private static GridFigure testGrid(DemoSettings s, String bed) {
    Path prompts = Demo.promptFile(s, bed, "test");
    if (!Files.exists(prompts)) {
      return null;
    }
    List<PromptRow> rows = PromptCsv.read(prompts);
    int n = Math.min(GRID_COLUMNS, rows.size());
    List<String> rowLabels = new ArrayList<>();
    List<List<String>> cells = new ArrayList<>();
    boolean any = false;
    for (String model : Demo.models(s)) {
      List<String> line = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Path img =
            Demo.evaluateDir(s, bed, model)
                .resolve(Evaluation.IMAGES)
                .resolve(String.format(Locale.ROOT, "%04d.png", i));
        line.add(Files.exists(img) ? img.toAbsolutePath().toString() : null);
        any |= Files.exists(img);
      }
      rowLabels.add(label(model));
      cells.add(line);
    }
    if (!any) {
      return null;
    }
    return new GridFigure(
        "Test prompts, no attack",
        "The same prompts and seeds for every model (the paper's Fig. 1): "
            + columnText(rows.subList(0, n)),
        rowLabels,
        columnNumbers(n),
        cells,
        null);
  }

  /** Rows: models; columns: attacked prompts; cells: the breaking attempt's image, or the last. */
  private static GridFigure attackGrid(DemoSettings s, String bed, AttackMethod a) {
    List<String> rowLabels = new ArrayList<>();
    List<List<String>> cells = new ArrayList<>();
    int columns = Math.min(GRID_COLUMNS, s.attackPrompts());
    if (columns == 0) {
      return null;
    }
    boolean any = false;
    List<String> adversarial = new ArrayList<>();
    for (String model : Demo.models(s)) {
      Path dir = Demo.attackDir(s, bed, model, a);
      Path results = dir.resolve(AttackRun.RESULTS);
      List<String> line = new ArrayList<>();
      JsonNode perPrompt = Files.exists(results) ? readJson(results).get("per_prompt") : null;
      for (int i = 0; i < columns; i++) {
        String img = null;
        if (perPrompt != null && i < perPrompt.size()) {
          JsonNode p = perPrompt.get(i);
          img = attackImage(dir, dir.resolve(p.get("folder").asText()), p);
          if (model.equals(EraseMethod.P_ESD.json()) || model.equals(EraseMethod.ESD.json())) {
            adversarial.add(label(model) + " #" + (i + 1) + ": " + p.get("adversarial_prompt").asText());
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

  private static String attackImage(Path runDir, Path promptDir, JsonNode result) {
    Path attempts = promptDir.resolve(AttackRun.ATTEMPTS);
    if (!Files.exists(attempts)) {
      return null;
    }
    JsonNode list = readJson(attempts);
    if (list.has("attempts")) {
      list = list.get("attempts");
    }
    if (list == null || !list.isArray() || list.isEmpty()) {
      return null;
    }
    JsonNode chosen = list.get(list.size() - 1);
    if (result.get("broken").asBoolean()) {
      int at = result.get("broken_at").asInt();
      for (JsonNode n : list) {
        if (n.get("attempt").asInt() == at) {
          chosen = n;
        }
      }
    }
    Path img = runDir.resolve(chosen.get("image").asText());
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
      parts.add("#" + (i + 1) + " \"" + rows.get(i).prompt() + "\" (seed " + rows.get(i).seed() + ")");
    }
    return String.join(", ", parts);
  }

  private static JsonNode readJson(Path file) {
    try {
      return Json.MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}

package dev.perase.demo;

import dev.perase.report.GridFigure;
import dev.perase.report.MethodRow;
import dev.perase.report.PrunedWeights;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import dev.perase.report.TradeOff;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns a matched-point study ({@link FullStudyResults}) into the report's data model: per bed the
 * matched-point table (base model and each method's chosen point, both attacks, intervals, pruned
 * ratios) with the paper's claim and its warnings, the table of every sweep point, the trade-off
 * chart (CER under UnlearnDiff against retain Fréchet distance, one line per method through its
 * sweep), image grids of the retain prompts for the base model and every point and of the test
 * prompts for the chosen points, and the chosen masks' pruned weights by layer.
 */
final class FullStudyReportBuilder {
  private FullStudyReportBuilder() {}

  static StudyReport build(FullStudySettings s, FullStudyResults results) {
    FullStudyLayout layout = FullStudyLayout.of(s);
    List<TestBed> beds = new ArrayList<>();
    for (int b = 0; b < results.beds().size(); b++) {
      FullStudyResults.Bed bed = results.beds().get(b);
      String name = s.beds().get(b);
      List<MethodRow> matched = new ArrayList<>();
      for (StudyResults.Row r : bed.matched()) {
        boolean base = r.model().equals(StudyLayout.BASE);
        matched.add(StudyReportBuilder.methodRow(matchedLabel(bed, r.model()), base, r, null));
      }
      List<MethodRow> sweep = new ArrayList<>();
      for (FullStudyResults.SweepResult w : bed.sweeps()) {
        for (FullStudyResults.PointResult p : w.points()) {
          Double seconds =
              results.timings().get(bed.concept() + ": erase " + w.method() + " " + p.label());
          sweep.add(StudyReportBuilder.methodRow(pointLabel(w, p), false, p.row(), seconds));
        }
      }
      List<String> claims = new ArrayList<>();
      bed.claims().forEach(c -> claims.add(c.sentence()));
      claims.addAll(bed.warnings());
      List<GridFigure> grids = new ArrayList<>();
      GridFigure test = testGrid(s, layout, name, bed);
      if (test != null) {
        grids.add(test);
      }
      GridFigure retain = retainGrid(s, layout, name, bed);
      if (retain != null) {
        grids.add(retain);
      }
      List<PrunedWeights> pruned = new ArrayList<>();
      for (Sweep w : s.sweeps()) {
        Sweep.Point p = chosen(bed, w);
        if (w.method().pruning() && p != null) {
          PrunedWeights f =
              StudyReportBuilder.prunedWeights(
                  StudyReportBuilder.label(w.method().json()) + " (" + w.label(p) + ")",
                  layout.artifact(name, w, p));
          if (f != null) {
            pruned.add(f);
          }
        }
      }
      beds.add(
          new TestBed(
              bed.concept() + " (" + bed.kind() + ")",
              bed.concept(),
              bed.kind(),
              bed.testPrompts(),
              matched,
              grids,
              List.of(),
              null,
              pruned,
              note(bed),
              claims,
              tradeOff(bed),
              sweep));
    }
    return new StudyReport(
        "perase demo --study full: matched operating points on the built-in world",
        description(s),
        Instant.now().toString(),
        StudyReportBuilder.environment(s.model(), s.detector()),
        beds,
        StudyReportBuilder.steps(s.out(), FullStudy.plan(s), results.timings()));
  }

  /** The chosen point of {@code w} on the bed, or null before the choice. */
  private static Sweep.Point chosen(FullStudyResults.Bed bed, Sweep w) {
    for (FullStudyResults.SweepResult r : bed.sweeps()) {
      if (r.method().equals(w.method().json()) && r.chosen() != null) {
        return w.point(r.chosen().point());
      }
    }
    return null;
  }

  /** "P-ESD at ρ 1e-2", with "not erasing" when its sweep has no erasing point. */
  private static String matchedLabel(FullStudyResults.Bed bed, String model) {
    if (model.equals(StudyLayout.BASE)) {
      return StudyReportBuilder.label(model);
    }
    for (FullStudyResults.SweepResult w : bed.sweeps()) {
      if (w.method().equals(model) && w.chosen() != null) {
        return StudyReportBuilder.label(model)
            + " at "
            + w.chosen().label()
            + (w.chosen().erases() ? "" : " (not erasing)");
      }
    }
    return StudyReportBuilder.label(model);
  }

  private static String pointLabel(FullStudyResults.SweepResult w, FullStudyResults.PointResult p) {
    boolean chosen = w.chosen() != null && w.chosen().point().equals(p.point());
    return StudyReportBuilder.label(w.method()) + " " + p.label() + (chosen ? " (chosen)" : "");
  }

  /**
   * The bed's main figure: CER under UnlearnDiff (y) against the retain Fréchet distance (x), one
   * line per method through its sweep's points (labelled by the knob's value), the base model a
   * point of its own. Null when no model has both numbers.
   */
  static TradeOff tradeOff(FullStudyResults.Bed bed) {
    List<TradeOff.Series> series = new ArrayList<>();
    TradeOff.Series base = StudyReportBuilder.pointSeries(bed.matched().get(0));
    if (base != null) {
      series.add(base);
    }
    for (FullStudyResults.SweepResult w : bed.sweeps()) {
      List<TradeOff.Point> points = new ArrayList<>();
      for (FullStudyResults.PointResult p : w.points()) {
        Double x = StudyReportBuilder.retainDistance(p.row().retainFrechet());
        if (x != null && p.row().cerUnlearnDiff() != null) {
          points.add(new TradeOff.Point(x, p.row().cerUnlearnDiff(), p.label()));
        }
      }
      if (!points.isEmpty()) {
        series.add(
            new TradeOff.Series(StudyReportBuilder.label(w.method()), w.knob().symbol(), points));
      }
    }
    return StudyReportBuilder.tradeOff(
        "Robustness against retain damage along each sweep: " + bed.concept(), series);
  }

  /** Rows: the base model and the chosen points; columns: the first test prompts. */
  private static GridFigure testGrid(
      FullStudySettings s, FullStudyLayout layout, String name, FullStudyResults.Bed bed) {
    List<String> labels = new ArrayList<>();
    List<Function<Integer, Path>> images = new ArrayList<>();
    labels.add(StudyReportBuilder.label(StudyLayout.BASE));
    images.add(i -> layout.study().testImage(name, StudyLayout.BASE, i));
    for (Sweep w : s.sweeps()) {
      Sweep.Point p = chosen(bed, w);
      if (p != null) {
        labels.add(StudyReportBuilder.label(w.method().json()) + " " + w.label(p));
        Path dir = layout.evaluateDir(name, w, p);
        images.add(i -> testImage(dir, i));
      }
    }
    return StudyReportBuilder.promptGrid(
        layout.study().prompts(name, StudyLayout.Prompts.TEST),
        StudyReportBuilder.GRID_COLUMNS,
        labels,
        images,
        "Test prompts, no attack, chosen points",
        "The same prompts and seeds for the base model and each method's chosen point: ");
  }

  private static Path testImage(Path evaluateDir, int i) {
    return evaluateDir
        .resolve(dev.perase.eval.Evaluation.IMAGES)
        .resolve(String.format(Locale.ROOT, "%04d.png", i));
  }

  /**
   * Rows: the base model and every sweep point; columns: the first retain prompts: whether each
   * model still draws what it is asked.
   */
  private static GridFigure retainGrid(
      FullStudySettings s, FullStudyLayout layout, String name, FullStudyResults.Bed bed) {
    if (s.retainPrompts() < 1) {
      return null;
    }
    List<String> labels = new ArrayList<>();
    List<Function<Integer, Path>> images = new ArrayList<>();
    labels.add(StudyReportBuilder.label(StudyLayout.BASE));
    images.add(i -> layout.study().retainImage(name, StudyLayout.BASE, i));
    for (Sweep w : s.sweeps()) {
      Sweep.Point chosen = chosen(bed, w);
      for (Sweep.Point p : w.points()) {
        labels.add(
            StudyReportBuilder.label(w.method().json())
                + " "
                + w.label(p)
                + (p.equals(chosen) ? " *" : ""));
        Path dir = layout.evaluateDir(name, w, p);
        images.add(i -> RetainFollowing.retainImage(dir, i));
      }
    }
    return StudyReportBuilder.promptGrid(
        layout.study().prompts(name, StudyLayout.Prompts.RETAIN),
        StudyReportBuilder.RETAIN_COLUMNS,
        labels,
        images,
        "Retain prompts, every model",
        "What the base model and every sweep point (* the chosen one) draw for prompts they should"
            + " keep, the same prompts and seeds: ");
  }

  private static String note(FullStudyResults.Bed bed) {
    return String.format(
        Locale.ROOT,
        "CER on %d test prompts; UnlearnDiff on the first %d of them for every model, P4D for the"
            + " base model and each method's chosen point (the lowest retain distance among its"
            + " points with test CER ≥ %.2f, else its strongest); Fréchet distance between"
            + " detector features of each model's and the base model's images of %d retain"
            + " prompts.",
        bed.testPrompts(),
        bed.attackPrompts(),
        bed.erasedCer(),
        bed.retainPrompts());
  }

  private static String description(FullStudySettings s) {
    StringBuilder sb = new StringBuilder();
    if (s.quick()) {
      sb.append(
          "Toy scale (--study full --quick): the numbers show the plumbing, not the method. ");
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%d test, %d retain and %d attacked prompts per test bed; %d DDIM steps per image;"
                + " attacks: %d attempts × %d iterations (paper: 10 × 40). Sweeps: ",
            s.testPrompts(),
            s.retainPrompts(),
            s.attackPrompts(),
            s.steps(),
            s.attackAttempts(),
            s.attackIterations()));
    List<String> parts = new ArrayList<>();
    for (Sweep w : s.sweeps()) {
      List<String> values = new ArrayList<>();
      w.points().forEach(p -> values.add(w.knob().value(p)));
      Sweep.Point first = w.points().get(0);
      parts.add(
          String.format(
              Locale.ROOT,
              "%s %s %s%s",
              StudyReportBuilder.label(w.method().json()),
              w.knob().symbol(),
              String.join(" / ", values),
              w.knob() == Sweep.Knob.STEPS ? "" : " at " + first.steps() + " steps"));
    }
    sb.append(String.join("; ", parts)).append(".");
    return sb.toString();
  }
}

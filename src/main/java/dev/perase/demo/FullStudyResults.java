package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.erase.EraseMethod;
import dev.perase.io.Json;
import dev.perase.world.Concept;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The numbers of a matched-point study ({@link FullStudy}), read back from the files its steps
 * wrote: per test bed the matched-point table (the base model and each method's chosen point, under
 * both attacks), every sweep point, and the paper's claim tested on the chosen points.
 *
 * @param beds one entry per test bed
 * @param timings wall seconds of every step of the plan (and erasing seconds per step)
 */
public record FullStudyResults(
    @JsonProperty("beds") List<Bed> beds, @JsonProperty("timings") Map<String, Double> timings) {

  /**
   * A test bed.
   *
   * @param concept the erased world concept
   * @param kind shape, color or style
   * @param testPrompts prompts of the test CER
   * @param retainPrompts prompts of the retain distance and prompt following
   * @param attackPrompts prompts attacked per model
   * @param erasedCer the test CER from which a point counts as erasing
   * @param matched the base model, then each method's chosen point (model: the method's name)
   * @param sweeps each method's sweep, every point measured, and its chosen point
   * @param claims the paper's claim on the chosen points, per pair and attack ({@link PaperClaim})
   * @param warnings what limits the claims: a method with no erasing point, a chosen point that
   *     differs from the one its P4D run attacked
   */
  public record Bed(
      @JsonProperty("concept") String concept,
      @JsonProperty("kind") String kind,
      @JsonProperty("test_prompts") int testPrompts,
      @JsonProperty("retain_prompts") int retainPrompts,
      @JsonProperty("attack_prompts") int attackPrompts,
      @JsonProperty("erased_cer") double erasedCer,
      @JsonProperty("matched") List<StudyResults.Row> matched,
      @JsonProperty("sweeps") List<SweepResult> sweeps,
      @JsonProperty("claims") List<PaperClaim> claims,
      @JsonProperty("warnings") List<String> warnings) {}

  /**
   * One method's sweep.
   *
   * @param method the method
   * @param knob what varies ({@code learning_rate}, {@code prune_ratio}, {@code steps})
   * @param points every point, in the sweep's order
   * @param chosen the chosen point, or null before any point is evaluated
   */
  public record SweepResult(
      @JsonProperty("method") String method,
      @JsonProperty("knob") Sweep.Knob knob,
      @JsonProperty("points") List<PointResult> points,
      @JsonProperty("chosen") ChosenPoint chosen) {}

  /**
   * One sweep point: its settings and its row (P4D is run on chosen points only, in {@link
   * Bed#matched}).
   *
   * @param point its folder name
   * @param label as the chart labels it
   * @param steps its optimisation steps
   * @param learningRate its learning rate, or null for the method's default
   * @param pruneRatio its pruning budget ρ, or null for none
   * @param row its numbers (model: {@code <method> <label>})
   */
  public record PointResult(
      @JsonProperty("point") String point,
      @JsonProperty("label") String label,
      @JsonProperty("steps") int steps,
      @JsonProperty("learning_rate") Double learningRate,
      @JsonProperty("prune_ratio") Double pruneRatio,
      @JsonProperty("row") StudyResults.Row row) {}

  /** Reads every finished step's results of the study {@code s}. */
  public static FullStudyResults gather(FullStudySettings s, Map<String, Double> timings) {
    FullStudyLayout layout = FullStudyLayout.of(s);
    StudyLayout study = layout.study();
    List<Bed> beds = new ArrayList<>();
    for (String bed : s.beds()) {
      Map<String, Map<AttackMethod, AttackResults>> attacks = new LinkedHashMap<>();
      List<StudyResults.Row> matched = new ArrayList<>();
      matched.add(StudyResults.row(study, bed, StudyLayout.BASE, null, attacks));
      List<SweepResult> sweeps = new ArrayList<>();
      List<String> warnings = new ArrayList<>();
      for (Sweep w : s.sweeps()) {
        EraseMethod m = w.method();
        List<StudyResults.Row> rows = pointRows(s, bed, w, new HashMap<>());
        // the choice the P4D run attacked; before it is made, the one the evaluations give
        ChosenPoint chosen =
            Files.exists(layout.chosen(bed, m))
                ? Json.read(layout.chosen(bed, m), ChosenPoint.class)
                : ChosenPoint.choose(w, rows, s.erasedCer());
        List<PointResult> points = new ArrayList<>();
        for (int i = 0; i < w.points().size(); i++) {
          Sweep.Point p = w.points().get(i);
          points.add(
              new PointResult(
                  w.folder(p),
                  w.label(p),
                  p.steps(),
                  p.learningRate(),
                  p.pruneRatio(),
                  rows.get(i)));
        }
        sweeps.add(new SweepResult(m.json(), w.knob(), points, chosen));
        Sweep.Point p = chosen == null ? null : w.point(chosen.point());
        if (p == null) {
          continue;
        }
        matched.add(
            StudyResults.row(
                m.json(),
                layout.evaluateDir(bed, w, p),
                layout.attack(bed, w, p, AttackMethod.UNLEARNDIFF),
                layout.chosenAttack(bed, m),
                m.pruning() ? layout.artifact(bed, w, p) : null,
                attacks));
        if (!chosen.erases()) {
          warnings.add(
              String.format(
                  Locale.ROOT,
                  "%s: no point of its sweep reaches test CER %.2f; its strongest (%s, CER %.2f)"
                      + " stands in, so a comparison with it is not one at equal erasure",
                  m.json(),
                  s.erasedCer(),
                  chosen.label(),
                  chosen.cerTest()));
        }
      }
      Concept c = Concept.of(bed);
      beds.add(
          new Bed(
              c.name(),
              c.kind().label(),
              s.testPrompts(),
              s.retainPrompts(),
              s.attackPrompts(),
              s.erasedCer(),
              matched,
              sweeps,
              PaperClaim.test(attacks, matched),
              warnings));
    }
    return new FullStudyResults(beds, StudyResults.inPlanOrder(timings));
  }

  /**
   * The rows of a sweep's points, in its order (model: {@code <method> <label>}); their attack
   * results go to {@code attacks}.
   */
  static List<StudyResults.Row> pointRows(
      FullStudySettings s,
      String bed,
      Sweep w,
      Map<String, Map<AttackMethod, AttackResults>> attacks) {
    FullStudyLayout layout = FullStudyLayout.of(s);
    List<StudyResults.Row> rows = new ArrayList<>();
    for (Sweep.Point p : w.points()) {
      rows.add(
          StudyResults.row(
              w.method().json() + " " + w.label(p),
              layout.evaluateDir(bed, w, p),
              layout.attack(bed, w, p, AttackMethod.UNLEARNDIFF),
              layout.attack(bed, w, p, AttackMethod.P4D),
              w.method().pruning() ? layout.artifact(bed, w, p) : null,
              attacks));
    }
    return rows;
  }
}

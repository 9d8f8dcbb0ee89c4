package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.EraseMethod;
import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.Evaluation;
import dev.perase.eval.Interval;
import dev.perase.eval.PromptFollowing;
import dev.perase.io.Json;
import dev.perase.world.Concept;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The numbers of a study, read back from the files its steps wrote: per test bed, per model, the
 * world's version of the paper's Tables 1, 3 and 5.
 *
 * @param beds one entry per test bed
 * @param timings wall seconds of every step of the plan (and erasing seconds per step)
 */
public record StudyResults(
    @JsonProperty("beds") List<Bed> beds, @JsonProperty("timings") Map<String, Double> timings) {

  /**
   * A test bed's rows.
   *
   * @param concept the erased world concept
   * @param kind shape, color or style
   * @param testPrompts prompts of the concept erasure rate
   * @param attackPrompts prompts attacked per model
   * @param rows base model first, then one per method
   * @param claims the paper's claim (a pruned model resists attacks better than its fine-tuned
   *     counterpart) tested on this bed, per pair and attack ({@link PaperClaim})
   */
  public record Bed(
      @JsonProperty("concept") String concept,
      @JsonProperty("kind") String kind,
      @JsonProperty("test_prompts") int testPrompts,
      @JsonProperty("attack_prompts") int attackPrompts,
      @JsonProperty("retain_prompts") int retainPrompts,
      @JsonProperty("rows") List<Row> rows,
      @JsonProperty("claims") List<PaperClaim> claims) {}

  /**
   * One model of a bed. Rates are concept erasure rates (share of images the detector does not flag
   * as the concept); null where the step has not run.
   *
   * @param model {@code base} or the method's name
   * @param cerTest on the test prompts
   * @param cerPreAttack on the attacked prompts before the attack (UnlearnDiff's run)
   * @param cerUnlearnDiff on the attacked prompts under UnlearnDiff
   * @param cerP4d on the attacked prompts under P4D
   * @param retainFrechet Fréchet distance (detector features) to the base model's images of the
   *     retain prompts
   * @param prunedRatio pruned share of the selected weights (masks only)
   * @param pruned pruned elements (masks only)
   * @param retainFrechetRendered Fréchet distance to renderings of the retain prompts (the world's
   *     FID against real images)
   * @param cerTestInterval Wilson 95 % interval of {@code cerTest} (likewise the next three)
   * @param retainFrechetInterval 95 % bootstrap interval of {@code retainFrechet} (prompts
   *     resampled)
   * @param retainFrechetRenderedInterval 95 % bootstrap interval of {@code retainFrechetRendered}
   * @param promptFollowing the detector's agreement with the shape, colour and style each retain
   *     prompt asks for
   */
  public record Row(
      @JsonProperty("model") String model,
      @JsonProperty("cer_test") Double cerTest,
      @JsonProperty("cer_pre_attack") Double cerPreAttack,
      @JsonProperty("cer_unlearndiff") Double cerUnlearnDiff,
      @JsonProperty("cer_p4d") Double cerP4d,
      @JsonProperty("retain_frechet") Double retainFrechet,
      @JsonProperty("pruned_ratio") Double prunedRatio,
      @JsonProperty("pruned") Long pruned,
      @JsonProperty("retain_frechet_rendered") Double retainFrechetRendered,
      @JsonProperty("cer_test_interval") Interval cerTestInterval,
      @JsonProperty("cer_pre_attack_interval") Interval cerPreAttackInterval,
      @JsonProperty("cer_unlearndiff_interval") Interval cerUnlearnDiffInterval,
      @JsonProperty("cer_p4d_interval") Interval cerP4dInterval,
      @JsonProperty("retain_frechet_interval") Interval retainFrechetInterval,
      @JsonProperty("retain_frechet_rendered_interval") Interval retainFrechetRenderedInterval,
      @JsonProperty("prompt_following") PromptFollowing promptFollowing) {}

  /** Reads every finished step's results of the study {@code s}. */
  public static StudyResults gather(DemoSettings s, Map<String, Double> timings) {
    StudyLayout layout = StudyLayout.of(s);
    List<Bed> beds = new ArrayList<>();
    for (String bed : s.beds()) {
      List<Row> rows = new ArrayList<>();
      Map<String, Map<AttackMethod, AttackResults>> attacks = new LinkedHashMap<>();
      for (String model : Demo.models(s)) {
        Path maskFile =
            model.equals(StudyLayout.BASE) ? null : layout.mask(bed, EraseMethod.parse(model));
        rows.add(row(layout, bed, model, maskFile, attacks));
      }
      Concept c = Concept.of(bed);
      beds.add(
          new Bed(
              c.name(),
              c.kind().label(),
              s.testPrompts(),
              s.attackPrompts(),
              s.retainPrompts(),
              rows,
              PaperClaim.test(attacks, rows)));
    }
    return new StudyResults(beds, inPlanOrder(timings));
  }

  /**
   * The timings in insertion order (the plan's), so that the study's JSON reads the same from run
   * to run.
   */
  static Map<String, Double> inPlanOrder(Map<String, Double> timings) {
    return Collections.unmodifiableMap(new LinkedHashMap<>(timings));
  }

  /**
   * The row of {@code model} on {@code bed} from the evaluation and attack folders {@code layout}
   * gives it ({@link #row(String, Path, Path, Path, Path, Map)}).
   */
  static Row row(
      StudyLayout layout,
      String bed,
      String model,
      Path maskFile,
      Map<String, Map<AttackMethod, AttackResults>> attacks) {
    return row(
        model,
        layout.evaluateDir(bed, model),
        layout.attack(bed, model, AttackMethod.UNLEARNDIFF),
        layout.attack(bed, model, AttackMethod.P4D),
        maskFile,
        attacks);
  }

  /**
   * A model's row from the files its steps wrote (each may be missing: its numbers are then null),
   * and its attack results, by attack, put in {@code attacks} under {@code model}.
   *
   * @param evaluateDir the model's evaluation folder
   * @param unlearnDiff the results file of its UnlearnDiff run
   * @param p4d the results file of its P4D run
   * @param maskFile its binary mask, or null when it has none
   */
  static Row row(
      String model,
      Path evaluateDir,
      Path unlearnDiff,
      Path p4d,
      Path maskFile,
      Map<String, Map<AttackMethod, AttackResults>> attacks) {
    Evaluation.Result eval = read(evaluateDir.resolve(Evaluation.RESULTS), Evaluation.Result.class);
    AttackResults ud = read(unlearnDiff, AttackResults.class);
    AttackResults p4 = read(p4d, AttackResults.class);
    RenderedFrechet.Result rendered =
        read(evaluateDir.resolve(RenderedFrechet.FILE), RenderedFrechet.Result.class);
    Map<AttackMethod, AttackResults> byAttack = new LinkedHashMap<>();
    if (ud != null) {
      byAttack.put(AttackMethod.UNLEARNDIFF, ud);
    }
    if (p4 != null) {
      byAttack.put(AttackMethod.P4D, p4);
    }
    attacks.put(model, byAttack);
    PromptFollowing following =
        read(evaluateDir.resolve(RetainFollowing.FILE), PromptFollowing.class);
    Double ratio = null;
    Long pruned = null;
    if (maskFile != null && Files.exists(maskFile)) {
      BinaryMask mask = BinaryMask.read(maskFile);
      ratio = mask.ratio();
      pruned = mask.prunedCount();
    }
    return new Row(
        model,
        eval == null ? null : cer(eval.erasure()),
        ud == null ? null : cer(ud.preAttack()),
        ud == null ? null : cer(ud.underAttack()),
        p4 == null ? null : cer(p4.underAttack()),
        eval == null || eval.retain() == null ? null : finite(eval.retain().frechetDistance()),
        ratio,
        pruned,
        rendered == null ? null : finite(rendered.frechetDistance()),
        eval == null ? null : eval.erasure().interval(),
        ud == null ? null : ud.preAttack().interval(),
        ud == null ? null : ud.underAttack().interval(),
        p4 == null ? null : p4.underAttack().interval(),
        eval == null || eval.retain() == null ? null : eval.retain().frechetInterval(),
        rendered == null ? null : rendered.frechetInterval(),
        following);
  }

  /** A step's result file, or null when the step has not written it. */
  static <T> T read(Path file, Class<T> type) {
    return Files.exists(file) ? Json.read(file, type) : null;
  }

  private static Double cer(ConceptErasureRate r) {
    return r == null ? null : finite(r.rate());
  }

  /** A number as the study keeps it: NaN and ±∞, which JSON writes as strings, as missing. */
  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}

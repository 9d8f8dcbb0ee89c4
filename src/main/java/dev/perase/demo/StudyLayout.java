package dev.perase.demo;

import dev.perase.analysis.NeuronAnalysis;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackRun;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.FineTuneTrainer;
import dev.perase.erase.MagnitudePruning;
import dev.perase.erase.MaskTrainer;
import dev.perase.eval.Evaluation;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a study's steps write, under its output folder: {@code <bed>/prompts/{test,retain,
 * attack}.csv}, {@code <bed>/<method>/erase} (the mask or weights), {@code <bed>/<model>/evaluate},
 * {@code <bed>/<model>/attack-{unlearndiff,p4d}}, {@code <bed>/{esd,p-esd}/neurons}, and at the top
 * {@code config.json}, {@code timings.json} and {@code study.json}. A model is {@value #BASE} or a
 * method's name. The one place these names are made: {@link Demo} writes there, {@link
 * StudyResults} and {@link StudyReportBuilder} read there.
 *
 * @param out the study's output folder
 */
record StudyLayout(Path out) {
  /** The model every method starts from. */
  static final String BASE = "base";

  /** The settings file of the study, and of each step in its folder. */
  static final String CONFIG = "config.json";

  /** A bed's prompt files: the first rows of its committed sets; the attacked ones a prefix. */
  enum Prompts {
    TEST,
    RETAIN,
    ATTACK;

    String file() {
      return name().toLowerCase(Locale.ROOT) + ".csv";
    }
  }

  static StudyLayout of(DemoSettings s) {
    return new StudyLayout(s.out());
  }

  /** The demo's settings, which a resumed study must match. */
  Path config() {
    return out.resolve(CONFIG);
  }

  /** Wall seconds per step of the plan. */
  Path timings() {
    return out.resolve("timings.json");
  }

  /** The gathered {@link StudyResults}. */
  Path study() {
    return out.resolve("study.json");
  }

  Path bedDir(String bed) {
    return out.resolve(bed.toLowerCase(Locale.ROOT));
  }

  Path prompts(String bed, Prompts set) {
    return bedDir(bed).resolve("prompts").resolve(set.file());
  }

  /** The base model's retain features, shared by the bed's evaluations. */
  Path retainCache(String bed) {
    return bedDir(bed).resolve("retain-cache");
  }

  Path eraseDir(String bed, EraseMethod m) {
    return bedDir(bed).resolve(m.json()).resolve("erase");
  }

  /** The mask or weights file a method's erase step writes. */
  Path artifact(String bed, EraseMethod m) {
    return eraseDir(bed, m).resolve(m.pruning() ? MaskTrainer.OUTPUT : FineTuneTrainer.OUTPUT);
  }

  /**
   * The binary mask of a method's model: its artifact when it prunes, the magnitude-pruning mask
   * when it fine-tunes and then prunes (Pre-Prune, Post-Prune); null when it has none.
   */
  Path mask(String bed, EraseMethod m) {
    if (m.pruning()) {
      return artifact(bed, m);
    }
    return m.magnitudePruning() != MagnitudePruning.When.NEVER
        ? eraseDir(bed, m).resolve(MagnitudePruning.MASK_OUTPUT)
        : null;
  }

  Path evaluateDir(String bed, String model) {
    return bedDir(bed).resolve(model).resolve("evaluate");
  }

  /** The evaluation's {@link Evaluation.Result}. */
  Path evaluation(String bed, String model) {
    return evaluateDir(bed, model).resolve(Evaluation.RESULTS);
  }

  /** The evaluation's {@link RenderedFrechet.Result}. */
  Path renderedFrechet(String bed, String model) {
    return evaluateDir(bed, model).resolve(RenderedFrechet.FILE);
  }

  /** The evaluation's {@link dev.perase.eval.PromptFollowing} on the retain prompts. */
  Path retainFollowing(String bed, String model) {
    return evaluateDir(bed, model).resolve(RetainFollowing.FILE);
  }

  /** The evaluation's image of retain prompt {@code i}. */
  Path retainImage(String bed, String model, int i) {
    return RetainFollowing.retainImage(evaluateDir(bed, model), i);
  }

  /** The evaluation's image of test prompt {@code i}. */
  Path testImage(String bed, String model, int i) {
    return evaluateDir(bed, model)
        .resolve(Evaluation.IMAGES)
        .resolve(String.format(Locale.ROOT, "%04d.png", i));
  }

  Path attackDir(String bed, String model, AttackMethod a) {
    return bedDir(bed).resolve(model).resolve("attack-" + a.label());
  }

  /** The attack's {@link dev.perase.attack.AttackResults}. */
  Path attack(String bed, String model, AttackMethod a) {
    return attackDir(bed, model, a).resolve(AttackRun.RESULTS);
  }

  Path neuronsDir(String bed, EraseMethod m) {
    return bedDir(bed).resolve(m.json()).resolve("neurons");
  }

  /** The heat maps' folder of a neuron analysis. */
  Path heatMaps(String bed, EraseMethod m) {
    return neuronsDir(bed, m).resolve(NeuronAnalysis.HEATMAPS);
  }

  /** The index of the heat maps, the analysis' last output. */
  Path heatMapIndex(String bed, EraseMethod m) {
    return heatMaps(bed, m).resolve(NeuronAnalysis.HEATMAP_INDEX);
  }

  /** The analysis' {@link dev.perase.analysis.Sensitivity} (Eq. 5). */
  Path sensitivity(String bed, EraseMethod m) {
    return neuronsDir(bed, m).resolve(NeuronAnalysis.SENSITIVITY);
  }
}

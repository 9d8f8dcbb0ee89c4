package dev.perase.demo;

import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackRun;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.FineTuneTrainer;
import dev.perase.erase.MaskTrainer;
import dev.perase.eval.Evaluation;
import java.nio.file.Path;

/**
 * Where the matched-point study ({@link FullStudy}) writes, under its output folder. As the short
 * study: {@code config.json}, {@code timings.json}, {@code study.json} at the top, and per bed
 * {@code <bed>/prompts/{test,retain,attack}.csv}, {@code <bed>/retain-cache} and the base model's
 * {@code <bed>/base/{evaluate,attack-unlearndiff,attack-p4d}}. Per sweep point {@code
 * <bed>/<method>/<point>/{erase,evaluate,attack-unlearndiff}} (the point's folder named by {@link
 * Sweep#folder}: {@code rho-1e-2}); per method {@code <bed>/<method>/chosen/chosen.json} (which
 * point was chosen) and {@code <bed>/<method>/chosen/attack-p4d} (P4D on that point's model).
 *
 * @param study the short study's layout of the same folder, for the names both share
 */
record FullStudyLayout(StudyLayout study) {
  /** The file naming the chosen point of a method's sweep ({@link ChosenPoint}). */
  static final String CHOSEN = "chosen.json";

  static FullStudyLayout of(FullStudySettings s) {
    return new FullStudyLayout(new StudyLayout(s.out()));
  }

  Path methodDir(String bed, EraseMethod m) {
    return study.bedDir(bed).resolve(m.json());
  }

  Path pointDir(String bed, Sweep w, Sweep.Point p) {
    return methodDir(bed, w.method()).resolve(w.folder(p));
  }

  Path eraseDir(String bed, Sweep w, Sweep.Point p) {
    return pointDir(bed, w, p).resolve("erase");
  }

  /** The mask or weights file of a point's erasure. */
  Path artifact(String bed, Sweep w, Sweep.Point p) {
    return eraseDir(bed, w, p)
        .resolve(w.method().pruning() ? MaskTrainer.OUTPUT : FineTuneTrainer.OUTPUT);
  }

  Path evaluateDir(String bed, Sweep w, Sweep.Point p) {
    return pointDir(bed, w, p).resolve("evaluate");
  }

  Path evaluation(String bed, Sweep w, Sweep.Point p) {
    return evaluateDir(bed, w, p).resolve(Evaluation.RESULTS);
  }

  Path attackDir(String bed, Sweep w, Sweep.Point p, AttackMethod a) {
    return pointDir(bed, w, p).resolve("attack-" + a.label());
  }

  Path attack(String bed, Sweep w, Sweep.Point p, AttackMethod a) {
    return attackDir(bed, w, p, a).resolve(AttackRun.RESULTS);
  }

  Path chosenDir(String bed, EraseMethod m) {
    return methodDir(bed, m).resolve("chosen");
  }

  Path chosen(String bed, EraseMethod m) {
    return chosenDir(bed, m).resolve(CHOSEN);
  }

  /** P4D on the chosen point's model. */
  Path chosenAttackDir(String bed, EraseMethod m) {
    return chosenDir(bed, m).resolve("attack-" + AttackMethod.P4D.label());
  }

  Path chosenAttack(String bed, EraseMethod m) {
    return chosenAttackDir(bed, m).resolve(AttackRun.RESULTS);
  }
}

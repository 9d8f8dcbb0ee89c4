package dev.perase.demo;

import ai.djl.ndarray.NDManager;
import dev.perase.Version;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackRun;
import dev.perase.attack.AttackSettings;
import dev.perase.attack.Relaxation;
import dev.perase.erase.AcSettings;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.EraseRequest;
import dev.perase.erase.EraseSettings;
import dev.perase.erase.Erasure;
import dev.perase.erase.EsdSettings;
import dev.perase.erase.FmnSettings;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import dev.perase.eval.DetectorSpec;
import dev.perase.eval.EditFile;
import dev.perase.eval.EvaluateSettings;
import dev.perase.eval.Evaluation;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import dev.perase.world.Concept;
import dev.perase.world.PaperDefaults;
import dev.perase.world.WorldConceptDetector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.DoubleConsumer;

/**
 * The steps a study on the built-in world is made of, shared by the short study ({@link Demo}) and
 * the matched-point study ({@link FullStudy}): erase one concept with one trained method, evaluate
 * a model (CER on test prompts; on retain prompts the Fréchet distance to the base model, to
 * renderings and the prompt following), attack a model. Each writes its own folder, resumable as
 * the library's runs are.
 *
 * @param model the base model folder
 * @param detector the world's detector folder
 * @param steps DDIM steps of every generation (evaluation, attacks, x_t, anchor and FMN images)
 * @param eraseSeed the seed of every erasing run
 */
record StudySteps(Path model, Path detector, int steps, long eraseSeed) {

  /**
   * The erasing settings of a study point: the trained method's defaults for the model and the
   * concept (the paper's layers and anchor per concept kind, {@link PaperDefaults}), with the
   * point's steps and, where given, learning rate and pruning budget.
   *
   * @param method a trained method (not UCE or NP-ESD)
   * @param eraseSteps optimisation steps
   * @param learningRate AdamW's learning rate, or null for the method's default
   * @param pruneRatio P-ESD and P-AC's budget ρ (Pre-/Post-Prune: the magnitude share), or null
   * @param fmnPool FMN's image pool size, or null for its default
   */
  record Point(
      EraseMethod method,
      int eraseSteps,
      Double learningRate,
      Double pruneRatio,
      Integer fmnPool) {}

  /**
   * Trains {@code p} on {@code concept} into {@code out}, continuing from its checkpoint when one
   * is there, and returns the run's seconds per step (NaN when it resumed from its final
   * checkpoint).
   */
  double erase(Concept concept, Point p, Path out, DoubleConsumer fraction) {
    boolean resume = Files.exists(out.resolve("checkpoint.safetensors"));
    try (StableDiffusion sd = StableDiffusion.load(model)) {
      // x_t (ESD) is sampled with the study's DDIM step count
      EsdSettings esd = EsdSettings.DEFAULT;
      int n = p.eraseSteps();
      EraseRequest request =
          new EraseRequest(
              p.method(),
              concept.name(),
              null,
              null,
              null,
              n,
              p.learningRate(),
              p.pruneRatio(),
              null,
              eraseSeed,
              Math.max(1, n / 4),
              resume,
              null,
              new EsdSettings(esd.negativeGuidance(), esd.startGuidance(), steps, esd.xtSource()),
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
      // the anchor (AC) and concept (FMN) images with the study's DDIM steps too
      if (settings.fmn() != null) {
        FmnSettings f = settings.fmn();
        settings =
            settings.withFmn(
                new FmnSettings(
                    p.fmnPool() != null ? p.fmnPool() : f.poolSize(),
                    steps,
                    f.poolGuidance(),
                    f.batchSize()));
      }
      if (settings.ac() != null) {
        AcSettings a = settings.ac();
        settings =
            settings.withAc(new AcSettings(a.poolSize(), steps, a.poolGuidance(), a.batchSize()));
      }
      int total = settings.steps();
      Erasure e =
          EraseRequest.train(sd, settings, out, resume, k -> fraction.accept((double) k / total));
      return e.secondsPerStep();
    }
  }

  /** The edit of a method's artifact: a mask when it prunes, fine-tuned weights otherwise. */
  static EditFile edit(EraseMethod m, Path artifact) {
    return m.pruning() ? new EditFile.Mask(artifact) : new EditFile.Weights(artifact);
  }

  /**
   * Evaluates {@code edit} into {@code out}: CER on {@code test}; with {@code retain} (null: none)
   * the Fréchet distance to the base model's images (their features cached in {@code cache}) with
   * its bootstrap interval and the prompt following; with two retain prompts or more also the
   * distance to renderings of what they ask for.
   */
  void evaluate(
      Concept concept,
      EditFile edit,
      Path test,
      Path retain,
      int retainCount,
      Path out,
      Path cache,
      DoubleConsumer fraction) {
    EvaluateSettings es =
        new EvaluateSettings(
            test,
            edit,
            model,
            new DetectorSpec(DetectorSpec.Kind.WORLD, detector),
            concept.name(),
            ConceptRule.TOP1,
            retain,
            steps,
            0,
            out,
            cache,
            Version.NAME);
    try (NDManager manager = Torch.newManager();
        Detector d = worldDetector(concept, manager)) {
      Evaluation.run(es, d, new PhaseFraction(fraction));
      if (retain != null) {
        RetainFollowing.write(out, retain, d, manager);
      }
    }
    if (retain != null && retainCount > 1) {
      RenderedFrechet.write(out, retain, detector);
    }
  }

  /**
   * Attacks {@code edit} with {@code a} on every row of {@code prompts}: {@code attempts} attempts
   * of {@code iterations} iterations each, the paper's Adam learning rate and weight decay, and its
   * adversarial token count for the concept's kind (5 for a colour, 3 otherwise).
   */
  void attack(
      Concept concept,
      EditFile edit,
      AttackMethod a,
      Path prompts,
      int iterations,
      int attempts,
      Path out,
      DoubleConsumer fraction) {
    AttackSettings as =
        new AttackSettings(
            a,
            prompts,
            edit,
            model,
            new DetectorSpec(DetectorSpec.Kind.WORLD, detector),
            concept.name(),
            ConceptRule.TOP1,
            concept.kind().attackTokens(),
            iterations,
            steps,
            attempts,
            AttackSettings.DEFAULT_LEARNING_RATE,
            AttackSettings.DEFAULT_WEIGHT_DECAY,
            Relaxation.SAMPLED,
            List.of(),
            0,
            out,
            Version.NAME);
    try (NDManager manager = Torch.newManager();
        Detector d = worldDetector(concept, manager)) {
      AttackRun.run(as, d, new PhaseFraction(fraction));
    }
  }

  /**
   * An evaluation's or an attack's progress as the share done of its current phase (a phase of no
   * steps counts as one, so the share stays finite).
   */
  private static final class PhaseFraction implements Evaluation.Listener, AttackRun.Listener {
    private final DoubleConsumer fraction;
    private long phaseTotal = 1;

    PhaseFraction(DoubleConsumer fraction) {
      this.fraction = fraction;
    }

    @Override
    public void phase(String name, long totalSteps) {
      phaseTotal = Math.max(1, totalSteps);
    }

    @Override
    public void phase(String name, long total, String unit) {
      phase(name, total);
    }

    @Override
    public void progress(long done) {
      fraction.accept((double) done / phaseTotal);
    }
  }

  /** The world's detector of the study, bound to a bed's concept (rule top-1). */
  Detector worldDetector(Concept concept, NDManager manager) {
    return WorldConceptDetector.load(detector, manager, concept, ConceptRule.TOP1);
  }
}

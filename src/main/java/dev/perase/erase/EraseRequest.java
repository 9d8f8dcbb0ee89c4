package dev.perase.erase;

import dev.perase.io.BadInputException;
import dev.perase.pipeline.StableDiffusion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntConsumer;

/**
 * What a user asks of an erasure before the defaults are resolved — {@code perase erase}'s options,
 * or a test bed of the demo: the method, the concept, and every setting the user may leave out
 * (null). The policy lives here, so that the command only parses and prints: which option belongs
 * to which method (the constructor refuses the others), the layers and AC's anchor per concept
 * ({@link ConceptDefaults}), the defaults of every method ({@link EraseSettings#defaults}, {@link
 * UceSettings#defaults}) and the trainer that runs it ({@link #train}).
 *
 * @param method the erasing method
 * @param concept the concept prompt
 * @param anchor AC's anchor prompt, or null for the concept's default
 * @param layers {@code cross-attn}, {@code non-cross-attn} or {@code all}, or null
 * @param layersRegex a regex over full parameter keys instead of {@code layers}, or null
 * @param steps optimisation steps, or null for the method's
 * @param learningRate AdamW's learning rate, or null for the method's (and the model's size)
 * @param pruneRatio Pre-Prune and Post-Prune: the share pruned by magnitude; P-ESD and P-AC: the
 *     mask's pruning budget ({@link MaskSettings#pruneRatio()}); or null
 * @param images FMN: images of the concept to train on, or null
 * @param seed seed of every random draw
 * @param checkpointEvery steps between checkpoints
 * @param resume whether to continue the run in the output folder from its checkpoint
 * @param latentSize side of the training latents, or null for the UNet's sample size
 * @param esd ESD's settings (x_t sampling, guidances), or null for the defaults
 * @param guide UCE: the concept to map the erased one onto, or null
 * @param preserve UCE: concepts to keep, separated by semicolons, or null
 * @param eraseScale UCE: weight of the erased concept's errors, or null
 * @param preserveScale UCE: weight of the preserved concepts' errors, or null
 * @param lambda UCE: λ of the regulariser, or null
 * @param from NP-ESD: the ESD run or weights to start from, or null
 * @param prompts NP-ESD: concept prompts, or null
 * @param topK NP-ESD: concept neurons zeroed per layer, or null
 */
public record EraseRequest(
    EraseMethod method,
    String concept,
    String anchor,
    String layers,
    String layersRegex,
    Integer steps,
    Double learningRate,
    Double pruneRatio,
    Integer images,
    long seed,
    int checkpointEvery,
    boolean resume,
    Integer latentSize,
    EsdSettings esd,
    String guide,
    String preserve,
    Double eraseScale,
    Double preserveScale,
    Double lambda,
    Path from,
    Path prompts,
    Integer topK) {
  /** UCE's defaults of the paper's code: erase and preserve scales 1, λ 0.5. */
  public static final double UCE_SCALE = 1;

  public static final double UCE_LAMBDA = 0.5;

  /** NP-ESD's default: the top-1 concept neuron per layer (Table 6). */
  public static final int NP_ESD_TOP_K = 1;

  /** Refuses the options that belong to other methods, naming the first one. */
  public EraseRequest {
    if (method == null || concept == null) {
      throw new BadInputException("an erasure needs a method and a concept");
    }
    boolean uce = method == EraseMethod.UCE;
    refuse(!uce && guide != null, "--guide", "uce", method);
    refuse(!uce && preserve != null, "--preserve", "uce", method);
    refuse(!uce && eraseScale != null, "--erase-scale", "uce", method);
    refuse(!uce && preserveScale != null, "--preserve-scale", "uce", method);
    refuse(!uce && lambda != null, "--lambda", "uce", method);
    refuse(
        method.magnitudePruning() == MagnitudePruning.When.NEVER
            && !method.pruning()
            && pruneRatio != null,
        "--prune-ratio",
        "p-esd, p-ac, pre-prune and post-prune",
        method);
    refuse(method != EraseMethod.FMN && images != null, "--images", "fmn", method);
    boolean np = method == EraseMethod.NP_ESD;
    refuse(!np && from != null, "--from", "np-esd", method);
    refuse(!np && prompts != null, "--prompts", "np-esd", method);
    refuse(!np && topK != null, "--top-k", "np-esd", method);
    if (uce) {
      String other =
          layers != null || layersRegex != null
              ? "--layers"
              : steps != null
                  ? "--steps"
                  : learningRate != null
                      ? "--lr"
                      : resume ? "--resume" : anchor != null ? "--anchor" : null;
      if (other != null) {
        throw new BadInputException(
            "uce is a closed-form edit of every attn2.to_k and attn2.to_v; it takes no " + other);
      }
    }
    if (layers != null && layersRegex != null) {
      throw new BadInputException("give either --layers or --layers-regex, not both");
    }
    if (method.objective() != EraseMethod.Objective.AC && anchor != null && !uce && !np) {
      throw new BadInputException(
          "--anchor is the anchor prompt of ac and p-ac; "
              + method
              + (method == EraseMethod.FMN
                  ? " moves attention off the concept"
                  : " erases towards the null prompt"));
    }
  }

  private static void refuse(boolean given, String option, String methods, EraseMethod m) {
    if (given) {
      throw new BadInputException(option + " is a setting of " + methods + ", not of " + m);
    }
  }

  /**
   * NP-ESD's inputs with their defaults resolved.
   *
   * @param weights the ESD weights file it starts from
   * @param prompts the concept prompts of Eq. 4
   * @param topK concept neurons zeroed per layer
   * @param ddimSteps DDIM steps of each generation that measures the neurons
   */
  public record NpEsdPlan(Path weights, Path prompts, int topK, int ddimSteps) {}

  /**
   * NP-ESD's plan: {@code --from} (an ESD run folder or its weights file), the concept prompts
   * given or the ones {@code defaults} knows in {@code model}, top-1 unless given.
   *
   * @throws BadInputException without {@code --from}, without a weights file there, or without
   *     concept prompts
   */
  public NpEsdPlan npEsdPlan(ConceptDefaults defaults, Path model) {
    if (from == null) {
      throw new BadInputException("np-esd starts from an ESD model: give --from ESD_RUN_FOLDER");
    }
    Path weights = Files.isDirectory(from) ? from.resolve(FineTuneTrainer.OUTPUT) : from;
    if (!Files.isRegularFile(weights)) {
      throw new BadInputException("no ESD weights file at " + weights);
    }
    Path conceptPrompts = prompts != null ? prompts : defaults.conceptPrompts(concept, model);
    if (conceptPrompts == null) {
      throw new BadInputException("np-esd needs --prompts FILE.csv with prompts of the concept");
    }
    return new NpEsdPlan(
        weights, conceptPrompts, topK != null ? topK : NP_ESD_TOP_K, esd.ddimSteps());
  }

  /** UCE's settings: the paper code's defaults where the request leaves them out. */
  public UceSettings uceSettings() {
    return UceSettings.defaults(concept)
        .withGuide(guide == null ? "" : guide)
        .withPreserve(UceSettings.parsePreserve(preserve))
        .withScales(
            eraseScale != null ? eraseScale : UCE_SCALE,
            preserveScale != null ? preserveScale : UCE_SCALE,
            lambda != null ? lambda : UCE_LAMBDA);
  }

  /**
   * The layers: {@code layersRegex} or {@code layers} when given; FMN re-steers the cross
   * attention; otherwise the concept's default.
   */
  public ConceptDefaults.LayerChoice layerChoice(ConceptDefaults defaults) {
    if (layersRegex != null) {
      return new ConceptDefaults.LayerChoice(Selection.regex(layersRegex), null);
    }
    if (layers != null) {
      return new ConceptDefaults.LayerChoice(Selection.parse(layers), null);
    }
    if (method == EraseMethod.FMN) {
      return new ConceptDefaults.LayerChoice(
          Selection.parse("cross-attn"), "FMN re-steers the cross attention");
    }
    return defaults.layers(concept);
  }

  /** AC's anchor prompt: the request's, else the concept's default; null for other methods. */
  public String anchorPrompt(ConceptDefaults defaults) {
    if (method.objective() != EraseMethod.Objective.AC) {
      return null;
    }
    String a = anchor != null ? anchor : defaults.anchorPrompt(concept);
    if (a == null) {
      throw new BadInputException(
          method
              + " needs --anchor: a prompt for what the concept should become (e.g. \"a cat\" to"
              + " erase \"a Grumpy Cat\")");
    }
    return a;
  }

  /**
   * The settings of a trained method on {@code sd}: the method's defaults for the model's size,
   * with what the request gives.
   */
  public EraseSettings settings(StableDiffusion sd, Selection selection, String anchorPrompt) {
    int size = latentSize != null ? latentSize : sd.unet().config().sampleSize();
    EraseSettings s =
        EraseSettings.defaults(
                method, concept, anchorPrompt, selection, sd.unet().params().numel(), size)
            .withSeed(seed)
            .withCheckpointEvery(checkpointEvery);
    if (steps != null) {
      s = s.withSteps(steps);
    }
    if (learningRate != null) {
      s = s.withLearningRate(learningRate);
    }
    if (pruneRatio != null) {
      s =
          method.pruning()
              ? s.withMask(s.mask().withPruneRatio(pruneRatio))
              : s.withPrune(new PruneSettings(pruneRatio));
    }
    if (images != null) {
      s = s.withFmn(s.fmn().withPool(images, s.fmn().poolSteps()));
    }
    if (s.esd() != null && esd != null) {
      s = s.withEsd(esd);
    }
    return s;
  }

  /**
   * Runs a trained method: P-ESD and P-AC learn a mask ({@link MaskTrainer}), the others fine-tune
   * the selected weights ({@link FineTuneTrainer}).
   */
  public static Erasure train(
      StableDiffusion sd, EraseSettings s, Path out, boolean resume, IntConsumer onStep) {
    return s.method().pruning()
        ? MaskTrainer.train(sd, s, out, resume, onStep)
        : FineTuneTrainer.train(sd, s, out, resume, onStep);
  }
}

package dev.perase.cli;

import dev.perase.analysis.NeuronPruning;
import dev.perase.erase.ConceptDefaults;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.EraseRequest;
import dev.perase.erase.EraseSettings;
import dev.perase.erase.Erasure;
import dev.perase.erase.EsdSettings;
import dev.perase.erase.MagnitudePruning;
import dev.perase.erase.Selection;
import dev.perase.erase.Uce;
import dev.perase.erase.UceSettings;
import dev.perase.io.BadInputException;
import dev.perase.io.RunLock;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.world.PaperDefaults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "erase",
    mixinStandardHelpOptions = true,
    description = {
      "Erases a concept from a model: ESD or AC fine-tuning of the selected weights, or P-ESD /"
          + " P-AC, which learn a mask over them and leave the weights as they are (paper §3.3);"
          + " the paper's comparisons: UCE (closed-form edit of the cross-attention keys and"
          + " values), FMN (attention re-steering), Pre-Prune and Post-Prune (global magnitude"
          + " pruning before or after ESD).",
      "Writes mask.safetensors (p-esd, p-ac) or weights.safetensors (the others), config.json,"
          + " log.jsonl and checkpoint.safetensors into --out (uce writes weights and config"
          + " only); pre-prune and post-prune also write prune-mask.safetensors, the pruned"
          + " elements as a mask file. --resume continues from the checkpoint.",
      "Without --layers: a world style erases in cross-attn, a world shape or colour (objects,"
          + " nudity-like) in non-cross-attn, free text in non-cross-attn (the paper's choices for"
          + " P-ESD); fmn in cross-attn; uce always edits every attn2.to_k and attn2.to_v.",
      "AC anchors: for a world concept the same prompt with another concept of its kind (shapes →"
          + " circle, colours → blue, styles → Solano, the plain style); free text needs --anchor."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase erase --concept star --method p-esd --out out/star-pesd",
      "  ./perase erase --concept Vortex --method esd --steps 500 --out out/vortex-esd",
      "  ./perase erase --concept red --method p-ac --anchor blue --out out/red-pac",
      "  ./perase erase --concept star --method p-esd --steps 400 --resume --out out/star-pesd",
      "  ./perase erase --concept star --method esd --out out/star-esd",
      "  ./perase erase --concept star --method np-esd --from out/star-esd --top-k 1 --out"
          + " out/star-npesd",
      "  ./perase erase --model sd-v1-4 --concept \"Van Gogh\" --method p-esd --layers cross-attn"
          + " --out out/vangogh",
      "  ./perase erase --model sd-v1-4 --concept \"a Grumpy Cat\" --anchor \"a cat\" --method ac"
          + " --out out/grumpy",
      "  ./perase erase --concept Vortex --method uce --preserve \"Solano;Pointel\" --out"
          + " out/vortex-uce",
      "  ./perase erase --concept star --method fmn --out out/star-fmn",
      "  ./perase erase --concept red --method post-prune --prune-ratio 0.1 --out out/red-post"
    })
final class EraseCommand implements Callable<Integer> {
  @Option(names = "--concept", required = true, description = "The concept prompt to erase.")
  String concept;

  @Option(
      names = "--method",
      required = true,
      description =
          "esd, ac (fine-tuning), p-esd, p-ac (pruning by a learned mask), uce, fmn, pre-prune"
              + " or post-prune.")
  String method;

  @Option(
      names = "--anchor",
      description = "AC's anchor prompt c* (default for a world concept: see above).")
  String anchor;

  @Option(
      names = "--layers",
      description = "cross-attn, non-cross-attn or all (default: by concept kind, see above).")
  String layers;

  @Option(
      names = "--layers-regex",
      description = "Select the conv/linear parameters whose full key matches this regex instead.")
  String layersRegex;

  @Option(
      names = "--steps",
      description =
          "Optimisation steps (default: p-esd 250, p-ac 1000, fmn 35; esd, ac, pre-prune and"
              + " post-prune 1000).")
  Integer steps;

  @Option(
      names = "--lr",
      description =
          "AdamW learning rate (default: p-esd 0.1, p-ac 0.01; esd, ac, pre-prune and post-prune"
              + " 1e-5 for an SD-scale UNet, 1e-4 for a small one such as the world's; fmn 2e-6"
              + " for SD, "
              + EraseSettings.FMN_SMALL_MODEL_LR
              + " for a small UNet).")
  Double lr;

  @Option(
      names = "--guide",
      description = "UCE: the concept to map the erased one onto (default: \"\", unconditional).")
  String guide;

  @Option(
      names = "--preserve",
      description =
          "UCE: concepts to keep, separated by semicolons, e.g. \"Solano;Pointel\" (default:"
              + " the empty prompt).")
  String preserve;

  @Option(
      names = "--erase-scale",
      description = "UCE: weight of the erased concept's errors (default: 1).")
  Double eraseScale;

  @Option(
      names = "--preserve-scale",
      description = "UCE: weight of the preserved concepts' errors (default: 1).")
  Double preserveScale;

  @Option(
      names = "--lambda",
      description = "UCE: λ of the regulariser λ‖W − W_old‖² (default: 0.5).")
  Double lambda;

  @Option(
      names = "--prune-ratio",
      description =
          "Pre-Prune and Post-Prune: share of the selected elements pruned by magnitude"
              + " (default: 0.1). P-ESD and P-AC: the most the mask may prune, as a share of"
              + " the selected elements, e.g. 1e-5 (default: no limit; the threshold τ alone"
              + " decides).")
  Double pruneRatio;

  @Option(
      names = "--from",
      description = "NP-ESD: the ESD run folder (or its weights.safetensors) to start from.")
  Path from;

  @Option(
      names = "--prompts",
      description =
          "NP-ESD: concept prompts for Eq. 4 (default for a world concept: its committed test"
              + " set under the model's prompts/ folder).")
  Path prompts;

  @Option(
      names = "--top-k",
      description = "NP-ESD: concept neurons zeroed per layer (default: 1, as Table 6).")
  Integer topK;

  @Option(
      names = "--images",
      description =
          "FMN: images of the concept the base model generates to train on (default: " + "10).")
  Integer images;

  @Option(names = "--seed", description = "Seed of every random draw (default: ${DEFAULT-VALUE}).")
  long seed = 0;

  @Option(
      names = "--model",
      description =
          "Base model: a diffusers folder, or a single-file .safetensors checkpoint (with --config)"
              + " (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--config",
      paramLabel = "DIR",
      description =
          "For a single-file --model: a diffusers folder whose tokenizer/ (required: SD's CLIP"
              + " vocab.json, merges.txt) and unet/, vae/, text_encoder/, scheduler/ configs (each"
              + " defaults to SD v1.x's) are used.")
  Path config;

  @Option(names = "--resume", description = "Continue the run in --out from its checkpoint.")
  boolean resume;

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;

  @Option(
      names = "--ddim-steps",
      description = "ESD: length of the DDIM loop x_t is sampled from (default: ${DEFAULT-VALUE}).")
  int ddimSteps = EsdSettings.DEFAULT.ddimSteps();

  @Option(
      names = "--xt-source",
      description = "ESD: which model samples x_t, erased or frozen (default: ${DEFAULT-VALUE}).")
  String xtSource = EsdSettings.DEFAULT.xtSource().json();

  @Option(
      names = "--negative-guidance",
      description = "ESD: η of Eq. 2 (default: ${DEFAULT-VALUE}).")
  double negativeGuidance = EsdSettings.DEFAULT.negativeGuidance();

  @Option(
      names = "--start-guidance",
      description = "ESD: guidance of the sampling that gives x_t (default: ${DEFAULT-VALUE}).")
  double startGuidance = EsdSettings.DEFAULT.startGuidance();

  @Option(
      names = "--checkpoint-every",
      description = "Write a checkpoint every N steps (default: ${DEFAULT-VALUE}).")
  int checkpointEvery = 50;

  @Option(
      names = "--checkpoint-activations",
      description =
          "Recompute the UNet's activations layer by layer in backward instead of keeping them"
              + " all: a fraction of the memory for about one more forward per step (for SD v1.x"
              + " at 512x512 on a small GPU or in RAM). Not for fmn.")
  boolean checkpointActivations;

  @Option(
      names = "--latent-size",
      description = "Side of the training latents (default: the UNet's sample_size).")
  Integer latentSize;

  /** The options as a request; its constructor refuses the options of other methods. */
  EraseRequest request() {
    return new EraseRequest(
        EraseMethod.parse(method),
        concept,
        anchor,
        layers,
        layersRegex,
        steps,
        lr,
        pruneRatio,
        images,
        seed,
        checkpointEvery,
        resume,
        latentSize,
        new EsdSettings(
            negativeGuidance, startGuidance, ddimSteps, EsdSettings.XtSource.parse(xtSource)),
        guide,
        preserve,
        eraseScale,
        preserveScale,
        lambda,
        from,
        prompts,
        topK);
  }

  /** NP-ESD: concept neurons of an ESD model (Eq. 4), the top-k per layer zeroed. */
  private Integer npEsd(EraseRequest request) {
    EraseRequest.NpEsdPlan plan = request.npEsdPlan(PaperDefaults.CONCEPT_DEFAULTS, model);
    try (StableDiffusion sd = StableDiffusion.load(model, config)) {
      System.out.printf(
          Locale.ROOT,
          "np-esd on \"%s\": top-%d concept neurons per layer of %s, measured on %s (%d DDIM steps)%n",
          concept,
          plan.topK(),
          plan.weights(),
          plan.prompts(),
          plan.ddimSteps());
      NeuronPruning.Result r =
          NeuronPruning.run(sd, plan.weights(), plan.prompts(), plan.topK(), plan.ddimSteps(), out);
      int zeroed = r.channels().values().stream().mapToInt(c -> c.length).sum();
      System.out.printf(
          Locale.ROOT,
          "zeroed %d neurons in %d layers in %.1f s; wrote %s%n",
          zeroed,
          r.channels().size(),
          r.wallSeconds(),
          r.artifact());
    }
    return 0;
  }

  /** UCE: encode, solve, edit, write; no training loop. */
  private Integer uce(EraseRequest request) {
    UceSettings s = request.uceSettings();
    try (StableDiffusion sd = StableDiffusion.load(model, config)) {
      System.out.println(Uce.SELECTION.summarize(sd.unet().params()).describe());
      System.out.printf(
          Locale.ROOT,
          "uce on \"%s\": guide \"%s\", preserving %s; erase scale %s, preserve scale %s, λ %s%n",
          s.concept(),
          s.guide(),
          s.preserve().stream().map(c -> "\"" + c + "\"").toList(),
          s.eraseScale(),
          s.preserveScale(),
          s.lambda());
      Erasure e = Uce.run(sd, s, out);
      System.out.printf(
          Locale.ROOT,
          "edited %,d elements in %.3f s; wrote %s%n",
          e.selectedElements(),
          e.wallSeconds(),
          e.artifact());
    }
    return 0;
  }

  @Override
  public Integer call() {
    EraseRequest request = request();
    EraseMethod m = request.method();
    if (checkpointActivations
        && (m == EraseMethod.FMN || m.closedForm() || m == EraseMethod.NP_ESD)) {
      throw new BadInputException(
          "--checkpoint-activations is for the trained methods esd, ac, p-esd, p-ac and the"
              + " prune baselines, not "
              + m.json());
    }
    try (RunLock lock = RunLock.acquire(out, "erase")) {
      return erase(request);
    }
  }

  private Integer erase(EraseRequest request) {
    EraseMethod m = request.method();
    if (m.closedForm()) {
      return uce(request);
    }
    if (m == EraseMethod.NP_ESD) {
      return npEsd(request);
    }
    ConceptDefaults.LayerChoice layerChoice = request.layerChoice(PaperDefaults.CONCEPT_DEFAULTS);
    Selection selection = layerChoice.selection();
    if (layerChoice.reason() != null) {
      System.out.println(
          "layers: "
              + selection.name()
              + " ("
              + layerChoice.reason()
              + "; override with --layers)");
    }
    String anchorText = request.anchorPrompt(PaperDefaults.CONCEPT_DEFAULTS);
    if (anchorText != null && anchor == null) {
      System.out.println("anchor: \"" + anchorText + "\" (override with --anchor)");
    }
    if (resume && !Files.exists(out.resolve("checkpoint.safetensors"))) {
      System.out.println("no checkpoint in " + out + "; starting from step 0");
    }
    try (StableDiffusion sd = StableDiffusion.load(model, config)) {
      sd.unet().checkpointActivations(checkpointActivations);
      EraseSettings s = request.settings(sd, selection, anchorText);
      System.out.println(selection.summarize(sd.unet().params()).describe());
      System.out.printf(
          Locale.ROOT,
          "%s on \"%s\": %d steps, lr %s, seed %d%n",
          m,
          concept,
          s.steps(),
          s.learningRate(),
          s.seed());
      if (s.ac() != null && !Files.exists(out.resolve("checkpoint.safetensors"))) {
        System.out.printf(
            Locale.ROOT,
            "generating %d anchor images of \"%s\" with the original model (%d DDIM steps each)%n",
            s.ac().poolSize(),
            s.anchor(),
            s.ac().poolSteps());
      }
      if (s.fmn() != null && !Files.exists(out.resolve("checkpoint.safetensors"))) {
        System.out.printf(
            Locale.ROOT,
            "generating %d images of \"%s\" with the original model (%d DDIM steps each)%n",
            s.fmn().poolSize(),
            s.concept(),
            s.fmn().poolSteps());
      }
      if (s.prune() != null) {
        System.out.printf(
            Locale.ROOT,
            "magnitude pruning of %s of the selected elements %s ESD%n",
            s.prune().ratio(),
            m.magnitudePruning() == MagnitudePruning.When.BEFORE ? "before" : "after");
      }
      Erasure e;
      try (ProgressBar bar = Progress.bar("erase " + m, s.steps(), "step")) {
        e = EraseRequest.train(sd, s, out, resume, bar::stepTo);
      }
      if (e.prunedCount() >= 0) {
        System.out.printf(
            Locale.ROOT,
            "pruned %,d of %,d selected elements (ratio %.3g); ",
            e.prunedCount(),
            e.selectedElements(),
            e.selectedElements() == 0 ? 0.0 : (double) e.prunedCount() / e.selectedElements());
      }
      System.out.printf(
          Locale.ROOT,
          "last loss %.4g, %.3f s/step; wrote %s%n",
          e.lastLoss(),
          e.secondsPerStep(),
          e.artifact());
    }
    return 0;
  }
}

package dev.perase.cli;

import dev.perase.erase.EraseMethod;
import dev.perase.erase.EraseSettings;
import dev.perase.erase.Erasure;
import dev.perase.erase.EsdSettings;
import dev.perase.erase.FineTuneTrainer;
import dev.perase.erase.MaskTrainer;
import dev.perase.erase.PaperDefaults;
import dev.perase.erase.Selection;
import dev.perase.io.BadInputException;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.world.Concept;
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
          + " P-AC, which learn a mask over them and leave the weights as they are (paper §3.3).",
      "Writes mask.safetensors (p-esd, p-ac) or weights.safetensors (esd, ac), config.json,"
          + " log.jsonl and checkpoint.safetensors into --out; --resume continues from the"
          + " checkpoint.",
      "Without --layers: a world style erases in cross-attn, a world shape or colour (objects,"
          + " nudity-like) in non-cross-attn, free text in non-cross-attn (the paper's choices for"
          + " P-ESD).",
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
      "  ./perase erase --model sd-v1-4 --concept \"Van Gogh\" --method p-esd --layers cross-attn"
          + " --out out/vangogh",
      "  ./perase erase --model sd-v1-4 --concept \"a Grumpy Cat\" --anchor \"a cat\" --method ac"
          + " --out out/grumpy"
    })
final class EraseCommand implements Callable<Integer> {
  @Option(names = "--concept", required = true, description = "The concept prompt to erase.")
  String concept;

  @Option(
      names = "--method",
      required = true,
      description = "esd, ac (fine-tuning), p-esd or p-ac (pruning by a learned mask).")
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
      description = "Optimisation steps (default: p-esd 250, p-ac 1000, esd and ac 1000).")
  Integer steps;

  @Option(
      names = "--lr",
      description =
          "AdamW learning rate (default: p-esd 0.1, p-ac 0.01; esd and ac 1e-5 for an SD-scale"
              + " UNet, 1e-4 for a small one such as the world's).")
  Double lr;

  @Option(names = "--seed", description = "Seed of every random draw (default: ${DEFAULT-VALUE}).")
  long seed = 0;

  @Option(
      names = "--model",
      description = "Model folder in the diffusers layout (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

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
      names = "--latent-size",
      description = "Side of the training latents (default: the UNet's sample_size).")
  Integer latentSize;

  @Override
  public Integer call() {
    EraseMethod m = EraseMethod.parse(method);
    if (layers != null && layersRegex != null) {
      throw new BadInputException("give either --layers or --layers-regex, not both");
    }
    Concept world = PaperDefaults.worldConcept(concept);
    Selection selection;
    if (layersRegex != null) {
      selection = Selection.regex(layersRegex);
    } else if (layers != null) {
      selection = Selection.parse(layers);
    } else {
      selection = PaperDefaults.layers(world);
      System.out.println(
          world != null
              ? "layers: "
                  + selection.name()
                  + " (the paper's choice for a "
                  + world.kind().label()
                  + " concept; override with --layers)"
              : "layers: "
                  + selection.name()
                  + " (\""
                  + concept
                  + "\" is not a concept of the built-in world; non-cross-attn is the paper's"
                  + " choice for nudity and objects, use --layers cross-attn for an artist's"
                  + " style)");
    }
    String anchorText = anchor;
    if (m.objective() == EraseMethod.Objective.ESD && anchorText != null) {
      throw new BadInputException(
          "--anchor is the anchor prompt of ac and p-ac; " + m + " erases towards the null prompt");
    }
    if (m.objective() == EraseMethod.Objective.AC && anchorText == null) {
      anchorText = world == null ? null : PaperDefaults.anchorPrompt(concept, world);
      if (anchorText == null) {
        throw new BadInputException(
            m
                + " needs --anchor: a prompt for what the concept should become (e.g. \"a cat\" to"
                + " erase \"a Grumpy Cat\")");
      }
      System.out.println("anchor: \"" + anchorText + "\" (override with --anchor)");
    }
    if (resume && !Files.exists(out.resolve("checkpoint.safetensors"))) {
      System.out.println("no checkpoint in " + out + "; starting from step 0");
    }
    try (StableDiffusion sd = StableDiffusion.load(model)) {
      int size = latentSize != null ? latentSize : sd.unet().config().sampleSize();
      EraseSettings s =
          EraseSettings.defaults(
                  m, concept, anchorText, selection, sd.unet().params().numel(), size)
              .withSeed(seed)
              .withCheckpointEvery(checkpointEvery);
      if (steps != null) {
        s = s.withSteps(steps);
      }
      if (lr != null) {
        s = s.withLearningRate(lr);
      }
      if (s.esd() != null) {
        s =
            s.withEsd(
                new EsdSettings(
                    negativeGuidance,
                    startGuidance,
                    ddimSteps,
                    EsdSettings.XtSource.parse(xtSource)));
      }
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
      Erasure e;
      try (ProgressBar bar = Progress.bar("erase " + m, s.steps(), "step")) {
        e =
            m.pruning()
                ? MaskTrainer.train(sd, s, out, resume, bar::stepTo)
                : FineTuneTrainer.train(sd, s, out, resume, bar::stepTo);
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

package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.eval.Detector;
import dev.perase.eval.EvaluateSettings;
import dev.perase.eval.Evaluation;
import dev.perase.eval.FrechetDistance;
import dev.perase.eval.InceptionFeatures;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.RunLock;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Generates one image per prompt of a CSV (its seed and guidance), asks the concept detector,"
          + " and writes per-prompt results and the Concept Erasure Rate (CER: the share of images"
          + " the detector does not flag). With --retain, also the Fréchet distance between the"
          + " detector features of the base and the edited model's images of the retain prompts.",
      "Writes OUT/config.json, OUT/images/*.png, OUT/per_prompt.{json,csv} and OUT/results.json;"
          + " an interrupted run resumes when started again with the same settings."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase evaluate --prompts models/world/prompts/star.csv --steps 25 \\",
      "      --out out/eval/star-base",
      "  ./perase evaluate --prompts models/world/prompts/star.csv --steps 25 \\",
      "      --mask out/pesd-star/mask.safetensors \\",
      "      --retain models/world/prompts/star_retain.csv --out out/eval/star-pesd",
      "  ./perase evaluate --prompts models/world/prompts/vortex.csv --steps 25 \\",
      "      --weights out/esd-vortex/unet.safetensors --concept Vortex --rule top2 \\",
      "      --out out/eval/vortex-esd",
      "",
      "Rules: top1 (default), top3, threshold:0.5 (the concept's probability),",
      "  set:a,b,c (a label of the set is its head's top label),",
      "  set:a,b,c@0.6 (a label of the set scores at least 0.6)."
    })
final class EvaluateCommand implements Callable<Integer> {
  @Mixin ModelEditOptions edit;

  @Mixin ModelRunOptions run;

  @Mixin DetectorOptions detection;

  @Mixin SamplerOptions sampling;

  @Mixin BatchOptions batching;

  @Option(
      names = "--retain",
      description = "Retain prompt CSV for the Fréchet distance to the base model.")
  Path retain;

  @Option(names = "--steps", description = "DDIM steps per image (default: ${DEFAULT-VALUE}).")
  int steps = EvaluateSettings.DEFAULT_STEPS;

  @Option(
      names = "--fid-reference",
      description =
          "Folder of real images (e.g. COCO): the FID of the retain images against them, as"
              + " clean-fid computes it (needs --retain and --inception; features cached beside"
              + " the folder).")
  Path fidReference;

  @Option(
      names = "--inception",
      description = "clean-fid's TorchScript Inception (inception-2015-12-05.pt), for the FID.")
  Path inception;

  @Option(names = "--kid", description = "With the FID, also KID (clean-fid's kernel distance).")
  boolean kid;

  @Option(
      names = "--bootstrap",
      description =
          "Resamples of the retain prompts for the Fréchet distance's 95 % bootstrap interval"
              + " (default: "
              + FrechetDistance.BOOTSTRAP_RESAMPLES
              + ").")
  int bootstrap = FrechetDistance.BOOTSTRAP_RESAMPLES;

  @Option(
      names = "--cache",
      description =
          "Folder that keeps the base model's retain features for reuse by later evaluations"
              + " (default: retain-cache beside --out).")
  Path cache;

  @Override
  public Integer call() {
    edit.edit(); // --mask with --weights fails before anything loads
    retainFid(); // an incomplete FID request fails before anything loads
    edit.selection(); // bad --rows / --limit / --scheduler fail before anything loads
    sampling.sampler();
    batching.batch();
    Path out = run.out;
    Path cacheDir = cache;
    if (cacheDir == null) {
      Path parent = out.toAbsolutePath().getParent();
      cacheDir = (parent == null ? out.toAbsolutePath() : parent).resolve("retain-cache");
    }
    List<PromptRow> rows = PromptCsv.read(edit.prompts);
    try (RunLock lock = RunLock.acquire(out, "evaluate");
        NDManager manager = Torch.newManager();
        Detector detector = detection.open(manager, run.model, rows, edit.prompts)) {
      return evaluate(detector, cacheDir);
    }
  }

  private int evaluate(Detector detector, Path cacheDir) {
    Path out = run.out;
    EvaluateSettings s =
        new EvaluateSettings(
            edit.prompts,
            edit.selection(),
            edit.edit(),
            run.model,
            run.config,
            detection.spec(),
            detector.concept(),
            detector.rule(),
            retain,
            steps,
            sampling.sampler(),
            run.size,
            out,
            cacheDir,
            Defaults.VERSION,
            batching.batch(),
            bootstrap);
    Evaluation.Result r;
    try (Progress.Phases bars = new Progress.Phases()) {
      r = Evaluation.run(s, detector, retainFid(), Progress.listener(bars));
    }
    print(r, out);
    return 0;
  }

  /** Prints an evaluation's figures: the CER and, when measured, the Fréchet distance and FID. */
  static void print(Evaluation.Result r, Path out) {
    System.out.printf(
        Locale.ROOT,
        "CER %.4f: %d of %d images not flagged as %s (rule %s); 95 %% interval %s%n",
        r.erasure().rate(),
        r.erasure().prompts() - r.erasure().flagged(),
        r.erasure().prompts(),
        r.concept(),
        r.rule(),
        r.erasure().interval().format(4));
    if (r.retain() != null) {
      System.out.printf(
          Locale.ROOT,
          "Fréchet distance to the base model on %d retain prompts: %.4f; 95 %% bootstrap"
              + " interval %s (%d resamples of the prompts)%n",
          r.retain().prompts(),
          r.retain().frechetDistance(),
          r.retain().frechetInterval() == null ? "—" : r.retain().frechetInterval().format(4),
          r.retain().bootstrapResamples());
    }
    if (r.retainFid() != null) {
      System.out.printf(
          Locale.ROOT,
          "FID of the %d retain images against %s: %.4f%s%n",
          r.retainFid().images().images(),
          r.retainFid().reference().dir(),
          r.retainFid().fid(),
          r.retainFid().kid() == null
              ? ""
              : String.format(Locale.ROOT, ", KID %.6f", r.retainFid().kid().kid()));
    }
    System.out.println("wrote " + out.resolve(Evaluation.RESULTS));
  }

  /** The FID request of {@code --fid-reference} and {@code --inception}, or null. */
  private Evaluation.RetainFid retainFid() {
    if (fidReference == null && inception == null) {
      if (kid) {
        throw new BadInputException(
            "--kid comes with the FID: give --fid-reference and --inception");
      }
      return null;
    }
    if (fidReference == null || inception == null) {
      throw new BadInputException("the FID needs both --fid-reference DIR and --inception FILE");
    }
    return new Evaluation.RetainFid(fidReference, inception, kid, InceptionFeatures.DEFAULT_BATCH);
  }
}

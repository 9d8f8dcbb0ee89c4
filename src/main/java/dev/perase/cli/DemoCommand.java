package dev.perase.cli;

import dev.perase.demo.Demo;
import dev.perase.demo.DemoSettings;
import dev.perase.demo.FullStudy;
import dev.perase.demo.FullStudySettings;
import dev.perase.eval.DetectorSpec;
import dev.perase.io.BadInputException;
import dev.perase.io.RunLock;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the paper's study on the built-in world: for the object (star), the style (Pointel) and"
          + " the implicit colour (red), erases the concept with ESD, P-ESD, AC and P-AC, measures"
          + " every model's concept erasure rate on test prompts and its Fréchet distance on retain"
          + " prompts, attacks every model with UnlearnDiff and P4D, analyses the concept neurons"
          + " of ESD and P-ESD (Eq. 4 and 5, heat maps), and writes OUT/report.html with the"
          + " tables, image grids, sensitivity, heat-map and pruned-weight figures.",
      "--study full runs the matched-point study instead: per bed, a sweep of each of ESD,"
          + " P-ESD, AC and P-AC's erasing strength (learning rate, pruning budget or steps),"
          + " every point evaluated (test CER, retain Fréchet distance on 200 prompts, prompt"
          + " following) and attacked with UnlearnDiff at the paper's budget (10 attempts × 40"
          + " iterations) on 20 prompts; per method the cheapest point that erases (test CER ≥"
          + " 0.9) is also attacked with P4D, and the paper's claim is tested on those points. It"
          + " took 1.7-2.2 h per bed on a 2-core CPU in two processes, 11 CPU-hours for the three"
          + " beds (README, 'The full study'): run it in the background.",
      "Steps whose outputs exist are skipped, so an interrupted demo resumes where it stopped (an"
          + " interrupted erasure continues from its last checkpoint, an attack at its next"
          + " prompt): run the same command again."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase demo --out out/demo",
      "  ./perase demo --quick --out out/demo-quick",
      "  nohup ./perase demo --study full --out out/study > out/study.log 2>&1 &",
      "  ./perase demo --study full --quick --out out/study-quick",
      "  ./perase demo --study full --beds red --join out/red-a,out/red-b --out out/study"
    })
final class DemoCommand implements Callable<Integer> {
  @Option(
      names = "--quick",
      description = "Every step at a toy scale (a few prompts and steps): a smoke test of minutes.")
  boolean quick;

  /** Which study: the short one of every method, or the matched-point sweeps. */
  enum Study {
    SHORT,
    FULL
  }

  @Option(
      names = "--study",
      description =
          "short: every method once at the demo's settings; full: the matched-point sweeps of"
              + " ESD, P-ESD, AC and P-AC at the paper's attack budget (default: short).")
  Study study = Study.SHORT;

  @Option(
      names = "--model",
      description = "Model folder in the diffusers layout (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--detector",
      description =
          "The study's detector: world (the model's detector/ folder) or world:DIR; its test beds"
              + " are the world's concepts (default: world).")
  String detector;

  @Option(
      names = "--prompt-sets",
      description = "Folder of the test beds' prompt sets (default: ${DEFAULT-VALUE}).")
  Path promptSets = Defaults.model().resolve("prompts");

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;

  @Option(
      names = "--beds",
      split = ",",
      paramLabel = "BED",
      description =
          "With --study full: only these test beds (of red, Pointel, star), e.g. one per machine,"
              + " to be joined later with --join (default: all).")
  List<String> beds;

  @Option(
      names = "--methods",
      split = ",",
      paramLabel = "METHOD",
      description =
          "With --study full: only these methods' sweeps (of esd, p-esd, ac, p-ac), e.g. one bed's"
              + " methods in two processes, to be joined later with --join (default: all).")
  List<String> methods;

  @Option(
      names = "--erase-seed",
      paramLabel = "N",
      description =
          "With --study full: the seed of every erasing run (default 0). Another seed repeats the"
              + " sweeps with other draws while evaluation and attacks keep theirs, to see how far a"
              + " single run's point moves; use its own --out.")
  Long eraseSeed;

  @Option(
      names = "--join",
      split = ",",
      paramLabel = "DIR",
      description =
          "With --study full: first take in the finished steps of these study folders (made by"
              + " other processes or machines with --beds or --methods and otherwise the same"
              + " settings) that --out lacks, with their timings, then go on: e.g. --join A,B"
              + " after --methods esd,p-esd --out A and --methods ac,p-ac --out B.")
  List<Path> join;

  @Override
  public Integer call() {
    Path detectorDir = worldDetector();
    if (beds != null && study != Study.FULL) {
      throw new BadInputException("--beds is an option of --study full");
    }
    if (methods != null && study != Study.FULL) {
      throw new BadInputException("--methods is an option of --study full");
    }
    if (eraseSeed != null && study != Study.FULL) {
      throw new BadInputException("--erase-seed is an option of --study full");
    }
    if (join != null && study != Study.FULL) {
      throw new BadInputException("--join is an option of --study full");
    }
    FullStudySettings full =
        study != Study.FULL
            ? null
            : (quick
                    ? FullStudySettings.quick(out, model, detectorDir, promptSets)
                    : FullStudySettings.full(out, model, detectorDir, promptSets))
                .withBeds(beds)
                .withMethods(methods)
                .withEraseSeed(eraseSeed == null ? 0 : eraseSeed);
    DemoSettings shortStudy =
        full != null
            ? null
            : (quick
                ? DemoSettings.quick(out, model, detectorDir, promptSets)
                : DemoSettings.full(out, model, detectorDir, promptSets));
    Path report;
    try (RunLock lock = RunLock.acquire(out, "demo")) {
      for (Path from : join == null ? List.<Path>of() : join) {
        int taken = FullStudy.join(full, from);
        System.out.println("joined " + taken + " finished steps from " + from);
      }
      report = run(full, shortStudy);
    }
    System.out.println("report: " + report.toAbsolutePath());
    return 0;
  }

  /** Runs the full study, or else the short one, and returns its report. */
  private static Path run(FullStudySettings full, DemoSettings shortStudy) {
    Path report;
    try (ProgressBar bar = Progress.bar("demo", 1000, "‰")) {
      Demo.Listener listener =
          new Demo.Listener() {
            @Override
            public void task(int index, int total, String name, boolean skipped) {
              bar.setExtraMessage(
                  String.format(
                      Locale.ROOT, " %d/%d %s%s", index, total, name, skipped ? " (done)" : ""));
            }

            @Override
            public void progress(double fraction) {
              bar.stepTo(Math.round(fraction * 1000));
            }
          };
      if (full != null) {
        report = FullStudy.runAndReport(full, listener);
      } else {
        report = Demo.runAndReport(shortStudy, listener);
      }
    }
    return report;
  }

  /** The folder of {@code --detector}: only the world's detector judges the world's test beds. */
  private Path worldDetector() {
    DetectorSpec spec = detector == null ? DetectorSpec.WORLD : DetectorSpec.parse(detector);
    if (spec.kind() != DetectorSpec.Kind.WORLD) {
      throw new BadInputException(
          "the demo's test beds are the built-in world's concepts, judged by its detector; use"
              + " evaluate or attack with --detector "
              + spec.text());
    }
    return spec.path() != null ? spec.path() : model.resolve("detector");
  }
}

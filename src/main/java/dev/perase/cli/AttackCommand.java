package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.attack.AttackRun;
import dev.perase.attack.AttackSettings;
import dev.perase.attack.AttemptSchedule;
import dev.perase.attack.Relaxation;
import dev.perase.eval.Detector;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.RunLock;
import dev.perase.tensor.Torch;
import dev.perase.world.Concept;
import dev.perase.world.Wording;
import dev.perase.world.WorldConceptDetector;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "attack",
    mixinStandardHelpOptions = true,
    description = {
      "Attacks a model with adversarial prompts (paper appendix B.2): k optimised tokens are"
          + " prepended to each prompt of a CSV, with UnlearnDiff (match the original model's image"
          + " of the prompt) or P4D (match the original model's noise predictions). Each prompt"
          + " gets up to --attempts attempts at timesteps spread over the --steps DDIM steps; after"
          + " each, an image of the adversarial prompt goes to the concept detector, and the prompt"
          + " is broken at the first flagged image (or when the prompt alone is flagged already).",
      "The original model is --model itself; the attacked model is --model with --mask or"
          + " --weights applied (neither: the base model).",
      "Writes OUT/config.json, OUT/prompts/NNNN/ (reference, pre-attack and attempt images,"
          + " attempts.json), OUT/results.json and results.csv (per-prompt success, CER before and"
          + " under attack, skipped prompts) and OUT/timing.json; an interrupted run goes on at the"
          + " next prompt when started again with the same settings."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase attack --method unlearndiff \\",
      "      --prompts models/world/prompts/star.csv --steps 20 \\",
      "      --mask out/pesd-star/mask.safetensors --out out/attack/star-pesd-ud",
      "  ./perase attack --method p4d --prompts models/world/prompts/red.csv \\",
      "      --weights out/esd-red/unet.safetensors --steps 20 \\",
      "      --out out/attack/red-esd-p4d",
      "",
      "Attempt timesteps: N steps, A attempts, stride s = max(1, N / A);",
      "  attempt j (0-based) sits at loop index N - 1 - s/2 - j*s, least noisy",
      "  first: N = 50 gives t = 41, 141, ..., 941 (the paper's 10 attempts,",
      "  5 steps apart).",
      "Default --tokens: 5 for colours (the world's nudity-like concept),",
      "  3 for shapes and styles."
    })
final class AttackCommand implements Callable<Integer> {
  @Option(
      names = "--method",
      required = true,
      description = "unlearndiff or p4d.",
      converter = MethodConverter.class)
  AttackMethod method;

  @Mixin ModelEditOptions edit;

  @Mixin ModelRunOptions run;

  @Mixin DetectorOptions detection;

  @Mixin SamplerOptions sampling;

  @Mixin BatchOptions batching;

  @Option(
      names = "--tokens",
      description = "Adversarial tokens k (default: 5 for colours, 3 for shapes and styles).")
  Integer tokens;

  @Option(
      names = "--iterations",
      description = "Adam iterations per attempt (default: ${DEFAULT-VALUE}).")
  int iterations = AttackSettings.DEFAULT_ITERATIONS;

  @Option(names = "--steps", description = "DDIM steps of every image (default: ${DEFAULT-VALUE}).")
  int steps = AttackSettings.DEFAULT_STEPS;

  @Option(names = "--attempts", description = "Attempts per prompt (default: ${DEFAULT-VALUE}).")
  int attempts = AttemptSchedule.PAPER_ATTEMPTS;

  @Option(
      names = "--relaxation",
      description =
          "What the text encoder reads while optimising: sampled (one-hot tokens drawn from the"
              + " rows, straight-through gradient, as the UnlearnDiff code) or soft (the rows'"
              + " mean embedding) (default: ${DEFAULT-VALUE}).")
  String relaxation = Relaxation.SAMPLED.label();

  @Option(
      names = "--exclude-concept-words",
      description =
          "Forbid the adversarial tokens the concept's own words (its name and one-word"
              + " synonyms: red, crimson, scarlet, ...).")
  boolean excludeConceptWords;

  @Override
  public Integer call() {
    edit.edit(); // --mask with --weights fails before anything loads
    edit.selection(); // bad --rows / --limit / --scheduler fail before anything loads
    sampling.sampler();
    List<PromptRow> rows = PromptCsv.read(edit.prompts);
    try (RunLock lock = RunLock.acquire(run.out, "attack");
        NDManager manager = Torch.newManager();
        Detector detector = detection.open(manager, run.model, rows, edit.prompts)) {
      return attack(detector);
    }
  }

  private int attack(Detector detector) {
    int k = tokens != null ? tokens : detection.attackTokens(detector);
    AttackSettings s =
        new AttackSettings(
            method,
            edit.prompts,
            edit.selection(),
            edit.edit(),
            run.model,
            run.config,
            detection.spec(),
            detector.concept(),
            detector.rule(),
            k,
            iterations,
            steps,
            sampling.sampler(),
            attempts,
            AttackSettings.DEFAULT_LEARNING_RATE,
            AttackSettings.DEFAULT_WEIGHT_DECAY,
            Relaxation.parse(relaxation),
            excludeConceptWords ? conceptWords(detector) : List.of(),
            run.size,
            run.out,
            Defaults.VERSION,
            batching.batch());
    AttackResults r;
    try (Progress.Phases bars = new Progress.Phases()) {
      r =
          AttackRun.run(
              s,
              detector,
              new AttackRun.Listener() {
                @Override
                public void phase(String name, long total, String unit) {
                  bars.start(name, total, unit);
                }

                @Override
                public void progress(long done) {
                  bars.stepTo(done);
                  bars.extraMessage("");
                }

                @Override
                public void attempt(int attempt, int attempts) {
                  bars.extraMessage("attempt " + attempt + "/" + attempts);
                }
              });
    }
    print(r, run.out);
    return 0;
  }

  /** Prints an attack's outcome: skipped prompts, the CER before and under attack. */
  static void print(AttackResults r, java.nio.file.Path out) {
    for (AttackResults.SkippedPrompt p : r.skipped()) {
      System.out.printf(
          Locale.ROOT,
          "skipped prompt %d (case %d): %d tokens + %d adversarial exceed the limit of %d%n",
          p.index(),
          p.caseNumber(),
          p.tokens(),
          r.tokens(),
          p.limit());
    }
    System.out.printf(
        Locale.ROOT,
        "%s on %s (%s): CER %.4f before the attack, %.4f under attack (%d of %d prompts broken;"
            + " 95 %% interval %s)%n",
        r.method().label(),
        r.concept(),
        r.edit(),
        r.preAttack().rate(),
        r.underAttack().rate(),
        r.underAttack().flagged(),
        r.attacked(),
        r.underAttack().interval().format(4));
    System.out.println("wrote " + out.resolve(AttackRun.RESULTS));
  }

  /**
   * The words the adversarial tokens may not take: a world concept's name and its one-word wordings
   * (nouns, adjectives, names); for another detector, the concept's own name.
   */
  static List<String> conceptWords(Detector d) {
    return d instanceof WorldConceptDetector w
        ? conceptWords(w.target())
        : List.of(d.concept().toLowerCase(Locale.ROOT));
  }

  /** A world concept's name and its one-word wordings (nouns, adjectives, names). */
  static List<String> conceptWords(Concept c) {
    List<String> words = new ArrayList<>();
    words.add(c.ownWord());
    for (Wording w : c.wordings()) {
      boolean oneWord = !w.text().contains(" ");
      boolean slot =
          w.slot() == Wording.Slot.NOUN
              || w.slot() == Wording.Slot.ADJ
              || w.slot() == Wording.Slot.NAME;
      if (oneWord && slot && !words.contains(w.text().toLowerCase(Locale.ROOT))) {
        words.add(w.text().toLowerCase(Locale.ROOT));
      }
    }
    return words;
  }

  static final class MethodConverter implements picocli.CommandLine.ITypeConverter<AttackMethod> {
    @Override
    public AttackMethod convert(String value) {
      try {
        return AttackMethod.parse(value);
      } catch (BadInputException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}

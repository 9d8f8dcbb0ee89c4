package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.attack.AttackBench;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackSettings;
import dev.perase.attack.AttemptSchedule;
import dev.perase.attack.Relaxation;
import dev.perase.eval.Detector;
import dev.perase.eval.EditFile;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.pipeline.Bench;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Times one UNet forward, one UNet forward+backward and one full generation (medians), with the"
          + " FLOPs of a UNet forward and the achieved GFLOP/s, and the generation's images/s at"
          + " several batch sizes.",
      "With --attack: times UnlearnDiff on the first row of --prompts at the paper's budget (10"
          + " attempts x 40 iterations) with the attempts optimised --batch at a time against one"
          + " at a time, in --repeats interleaved rounds; no attempt breaks the prompt, so both do"
          + " all the work."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase bench",
      "  ./perase bench --model ../shared/fixtures/tiny-sd --repeats 20",
      "  ./perase bench --attack",
      "  ./perase bench --attack --batch 10 --repeats 5"
    })
final class BenchCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      description =
          "Model: a diffusers folder, or a single-file .safetensors checkpoint (with --config)"
              + " (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(
      names = "--config",
      paramLabel = "DIR",
      description =
          "For a single-file --model: a diffusers folder whose tokenizer/ (required) and configs"
              + " (each defaults to SD v1.x's) are used.")
  Path config;

  /** The UNet batch, the generation's steps and the repeats without {@code --attack}. */
  static final int BATCH = 2;

  static final int STEPS = 50;
  static final int REPEATS = 10;

  /** The attack budget: 10 DDIM steps per image, three rounds. */
  static final int ATTACK_STEPS = 10;

  static final int ATTACK_ROUNDS = 3;

  @Option(
      names = "--batch",
      description =
          "UNet batch size (default: "
              + BATCH
              + "); with --attack, the attempts optimised together (default: "
              + StableDiffusion.DEFAULT_BATCH
              + ").")
  Integer batch;

  @Option(
      names = "--latent-size",
      description =
          "Latent height and width of the timed UNet calls and generation (default: the UNet's"
              + " sample size, 64 for SD v1.x, i.e. 512x512 images).")
  int latentSize = 0;

  @Option(
      names = "--steps",
      description =
          "Denoising steps of the timed generation (default: "
              + STEPS
              + "); with --attack, of every image (default: "
              + ATTACK_STEPS
              + ").")
  Integer steps;

  @Option(
      names = "--repeats",
      description =
          "Timed repetitions per measurement (default: "
              + REPEATS
              + "); with --attack, rounds (default: "
              + ATTACK_ROUNDS
              + ").")
  Integer repeats;

  @Option(
      names = "--checkpoint-activations",
      description =
          "Time the forward+backward with the activations recomputed layer by layer, as erase"
              + " --checkpoint-activations runs it.")
  boolean checkpointActivations;

  @Option(
      names = "--attack",
      description = "Time the attack instead (UnlearnDiff, batched against one attempt at a time).")
  boolean attack;

  @Option(
      names = "--prompts",
      description =
          "With --attack: the prompt CSV whose first row is attacked (default: the model's"
              + " prompts/star.csv).")
  Path prompts;

  @Mixin DetectorOptions detection;

  @Option(
      names = "--throughput",
      description =
          "Batch sizes at which to measure the generation's images/s, separated by commas, or"
              + " none (default: ${DEFAULT-VALUE}).")
  String throughput = "1,2,4,8,16,32";

  @Override
  public Integer call() {
    int b = batch != null ? batch : attack ? StableDiffusion.DEFAULT_BATCH : BATCH;
    int n = steps != null ? steps : attack ? ATTACK_STEPS : STEPS;
    int r = repeats != null ? repeats : attack ? ATTACK_ROUNDS : REPEATS;
    if (b < 1 || r < 1 || n < 1) {
      throw new BadInputException("--batch, --steps and --repeats must be positive");
    }
    if (attack) {
      return attack(b, n, r);
    }
    if (latentSize < 0 || latentSize % 8 != 0) {
      throw new BadInputException(
          "--latent-size must be a positive multiple of 8, got " + latentSize);
    }
    int[] batches = batches(throughput);
    Bench.Result result =
        Bench.run(
            model,
            config,
            b,
            latentSize,
            n,
            r,
            batches,
            checkpointActivations,
            line -> System.err.println("measured: " + line));
    System.out.print(result.describe());
    return 0;
  }

  private int attack(int b, int n, int rounds) {
    Path file = prompts != null ? prompts : model.resolve("prompts").resolve("star.csv");
    List<PromptRow> rows = PromptCsv.read(file);
    if (rows.isEmpty()) {
      throw new BadInputException(file + " has no prompts");
    }
    try (NDManager manager = Torch.newManager();
        Detector detector = detection.open(manager, model, rows, file);
        StableDiffusion sd = StableDiffusion.load(model, config)) {
      AttackSettings s =
          new AttackSettings(
              AttackMethod.UNLEARNDIFF,
              file,
              null,
              EditFile.NONE,
              model,
              config,
              detection.spec(),
              detector.concept(),
              detector.rule(),
              detection.attackTokens(detector),
              AttackSettings.DEFAULT_ITERATIONS,
              n,
              null,
              AttemptSchedule.PAPER_ATTEMPTS,
              AttackSettings.DEFAULT_LEARNING_RATE,
              AttackSettings.DEFAULT_WEIGHT_DECAY,
              Relaxation.SAMPLED,
              List.of(),
              0,
              Path.of("bench-writes-nothing"),
              Defaults.VERSION,
              b);
      AttackBench.Result result =
          AttackBench.run(
              sd,
              detector,
              s,
              rows.get(0),
              rounds,
              (round, batch) ->
                  System.err.printf("round %d of %d: batch %d%n", round + 1, rounds, batch));
      System.out.print(result.describe());
      return 0;
    }
  }

  /** The batch sizes of {@code --throughput}: none for "none" or nothing, else positive ints. */
  static int[] batches(String text) {
    String t = text.strip();
    if (t.isEmpty() || t.equals("none")) {
      return new int[0];
    }
    String[] parts = t.split(",");
    int[] out = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        out[i] = Integer.parseInt(parts[i].strip());
      } catch (NumberFormatException e) {
        throw new dev.perase.io.BadInputException(
            "--throughput takes batch sizes separated by commas or none, got " + text);
      }
      if (out[i] < 1) {
        throw new dev.perase.io.BadInputException("--throughput batches must be positive");
      }
    }
    return out;
  }
}

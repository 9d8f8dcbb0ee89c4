package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import dev.perase.eval.Verdict;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Benchmark of one prompt's attack at a budget ({@code perase bench --attack}): the attempts
 * optimised {@code batch} at a time against the attempt-by-attempt loop (batch 1), in interleaved
 * rounds (batched first in even rounds, single first in odd ones), so that a machine whose load
 * drifts slows both alike.
 *
 * <p>Both runs do the same work: the detector's verdicts are recorded as not flagged ({@link
 * NeverBroken}), so neither stops early; every attempt makes all its iterations and its image and
 * is judged. θ*'s reference for the prompt is made once, before the rounds, as the attack run makes
 * it once per prompt for any batch.
 */
public final class AttackBench {
  private AttackBench() {}

  /**
   * One attack of the prompt: wall seconds of its attempts and their parts ({@link
   * PromptAttack.Outcome}), and the CPU seconds of the thread that ran it (with one libtorch
   * thread, the tensor work runs on it: a measure less moved by other processes than wall time).
   */
  public record Run(
      int batch,
      int attempts,
      double seconds,
      double cpuSeconds,
      double optimisationSeconds,
      double generationSeconds,
      double detectorSeconds) {}

  /**
   * The rounds' runs of both variants, with the 1-minute load average before and after (negative
   * where the system does not give one).
   */
  public record Result(
      AttackSettings settings,
      PromptRow row,
      double referenceSeconds,
      List<Run> batched,
      List<Run> single,
      double loadBefore,
      double loadAfter) {
    public Result {
      batched = List.copyOf(batched);
      single = List.copyOf(single);
    }

    /** Median seconds per prompt of the batched run over the single one's: the speed-up. */
    public double speedUp() {
      return median(single, Run::seconds) / median(batched, Run::seconds);
    }

    public String describe() {
      AttackSettings s = settings;
      StringBuilder sb = new StringBuilder();
      sb.append(
          String.format(
              "attack %s on '%s' (seed %d): %d attempts x %d iterations, %d %s steps, %d"
                  + " adversarial tokens, no early stop%n",
              s.method().label(),
              row.prompt(),
              row.seed(),
              s.attempts(),
              s.iterations(),
              s.steps(),
              s.sampler().text(),
              s.tokens()));
      sb.append(String.format("reference (theta*, once): %.2f s%n", referenceSeconds));
      sb.append(
          String.format(
              "%-6s %8s %14s %8s %9s %8s   (seconds per prompt, median of %d; total min-max)%n",
              "batch", "total", "optimisation", "images", "detector", "cpu", batched.size()));
      line(sb, batched);
      line(sb, single);
      sb.append(
          String.format(
              "batch %d vs batch 1: %.2fx per prompt (cpu %.2fx; optimisation %.2fx, images %.2fx)%n",
              batched.get(0).batch(),
              speedUp(),
              median(single, Run::cpuSeconds) / median(batched, Run::cpuSeconds),
              median(single, Run::optimisationSeconds) / median(batched, Run::optimisationSeconds),
              median(single, Run::generationSeconds) / median(batched, Run::generationSeconds)));
      sb.append(String.format("load average: %.2f before, %.2f after%n", loadBefore, loadAfter));
      return sb.toString();
    }

    private static void line(StringBuilder sb, List<Run> runs) {
      sb.append(
          String.format(
              "%-6d %8.2f %14.2f %8.2f %9.2f %8.2f   (%.2f-%.2f)%n",
              runs.get(0).batch(),
              median(runs, Run::seconds),
              median(runs, Run::optimisationSeconds),
              median(runs, Run::generationSeconds),
              median(runs, Run::detectorSeconds),
              median(runs, Run::cpuSeconds),
              runs.stream().mapToDouble(Run::seconds).min().orElse(0),
              runs.stream().mapToDouble(Run::seconds).max().orElse(0)));
    }
  }

  /** Progress: a run starts (round 0-based). */
  public interface Listener {
    void run(int round, int batch);

    Listener NONE = (round, batch) -> {};
  }

  /**
   * Attacks {@code row} on {@code sd} {@code rounds} times at {@code s.batch()} and at batch 1,
   * interleaved, with images of the settings' size (0: the model's own).
   */
  public static Result run(
      StableDiffusion sd,
      Detector detector,
      AttackSettings s,
      PromptRow row,
      int rounds,
      Listener listener) {
    if (rounds < 1) {
      throw new BadInputException("the attack benchmark needs at least one round");
    }
    if (s.batch() < 2) {
      throw new BadInputException(
          "the attack benchmark compares a batch of attempts with batch 1: its batch must be 2 or"
              + " more, got "
              + s.batch());
    }
    double loadBefore = load();
    int size =
        s.imageSize() > 0 ? s.imageSize() : sd.unet().config().sampleSize() * sd.latentFactor();
    AttemptSchedule schedule = AttemptSchedule.of(sd.scheduler(), s.steps(), s.attempts());
    boolean[] allowed = AdversarialTokens.allowedTokens(sd.tokenizer(), s.excludedWords());
    PromptLayout layout = new PromptLayout(sd.tokenizer(), row.prompt(), s.tokens());
    Detector judge = new NeverBroken(detector);
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    List<Run> batched = new ArrayList<>();
    List<Run> single = new ArrayList<>();
    try (NDManager m = Torch.newManager()) {
      long t0 = System.nanoTime();
      Reference ref = Reference.compute(sd, row, schedule, size, s.method() == AttackMethod.P4D, m);
      double referenceSeconds = (System.nanoTime() - t0) / 1e9;
      AttackObjective objective = AttackObjective.of(s.method(), sd, ref, schedule, row.seed());
      for (int r = 0; r < rounds; r++) {
        int[] order = r % 2 == 0 ? new int[] {s.batch(), 1} : new int[] {1, s.batch()};
        for (int b : order) {
          listener.run(r, b);
          long t1 = System.nanoTime();
          long c1 = cpu.getCurrentThreadCpuTime();
          PromptAttack.Outcome o =
              PromptAttack.run(
                  sd,
                  judge,
                  objective,
                  layout,
                  schedule,
                  row,
                  size,
                  allowed,
                  s.withBatch(b),
                  "",
                  PromptAttack.Observer.NONE);
          Run run =
              new Run(
                  b,
                  o.attempts().size(),
                  (System.nanoTime() - t1) / 1e9,
                  (cpu.getCurrentThreadCpuTime() - c1) / 1e9,
                  o.optimisationSeconds(),
                  o.generationSeconds(),
                  o.detectorSeconds());
          (b == 1 ? single : batched).add(run);
        }
      }
      return new Result(s, row, referenceSeconds, batched, single, loadBefore, load());
    }
  }

  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  static double median(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
    double[] v = runs.stream().mapToDouble(f).toArray();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  /**
   * The detector's scores and top labels with every verdict marked not flagged, so that an attack
   * judges every attempt and never stops early.
   */
  static final class NeverBroken implements Detector {
    private final Detector detector;

    NeverBroken(Detector detector) {
      this.detector = detector;
    }

    @Override
    public String name() {
      return detector.name();
    }

    @Override
    public String fingerprint() {
      return detector.fingerprint();
    }

    @Override
    public List<Head> heads() {
      return detector.heads();
    }

    @Override
    public String concept() {
      return detector.concept();
    }

    @Override
    public ConceptRule rule() {
      return detector.rule();
    }

    @Override
    public double[][][] scores(NDArray images) {
      return detector.scores(images);
    }

    @Override
    public NDArray features(NDArray images) {
      return detector.features(images);
    }

    @Override
    public boolean hasFeatures() {
      return detector.hasFeatures();
    }

    @Override
    public List<Verdict> detect(NDArray images) {
      List<Verdict> out = new ArrayList<>();
      for (Verdict v : detector.detect(images)) {
        out.add(new Verdict(v.scores(), false, v.conceptScore(), v.topLabels(), v.detections()));
      }
      return out;
    }
  }
}

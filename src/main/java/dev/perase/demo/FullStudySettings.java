package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.DoubleStream;
import java.util.stream.IntStream;

/**
 * What {@code perase demo --study full} runs: the matched-point study of issue 17 on the built-in
 * world ({@link FullStudy}). Per test bed, each sweep's points are erased, evaluated (test CER,
 * retain Fréchet distance with prompt following) and attacked with UnlearnDiff; per method the
 * chosen point — the lowest retain distance among the points with test CER ≥ {@code erasedCer},
 * else the strongest — and the base model are also attacked with P4D.
 *
 * @param out the study folder
 * @param model the base model folder
 * @param detector the world's detector folder
 * @param promptSets the folder with the test beds' prompt sets ({@code red.csv}, {@code
 *     red_retain.csv}, …)
 * @param quick the toy scale of {@code --study full --quick}
 * @param beds the test beds, by world concept name
 * @param sweeps one per compared method, in the tables' order
 * @param testPrompts test prompts per bed for the concept erasure rate
 * @param retainPrompts retain prompts per bed for the Fréchet distance and prompt following
 * @param attackPrompts test prompts per bed (the first ones) attacked on every model
 * @param steps DDIM steps of every generation (evaluation, attacks, x_t, anchor images)
 * @param attackIterations optimisation iterations per attack attempt (paper: 40)
 * @param attackAttempts attempts per prompt (paper: 10)
 * @param erasedCer the test CER from which a point counts as erasing (issue 17: 0.9)
 * @param eraseSeed the seed of every erasing run (default 0); another seed repeats the sweeps with
 *     other draws of prompts, timesteps and noise while the evaluation and attacks keep theirs, to
 *     see how much a single run's point can move
 */
public record FullStudySettings(
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) Path model,
    @JsonProperty("detector") @JsonSerialize(using = ToStringSerializer.class) Path detector,
    @JsonProperty("prompt_sets") @JsonSerialize(using = ToStringSerializer.class) Path promptSets,
    @JsonProperty("quick") boolean quick,
    @JsonProperty("beds") List<String> beds,
    @JsonProperty("sweeps") List<Sweep> sweeps,
    @JsonProperty("test_prompts") int testPrompts,
    @JsonProperty("retain_prompts") int retainPrompts,
    @JsonProperty("attack_prompts") int attackPrompts,
    @JsonProperty("steps") int steps,
    @JsonProperty("attack_iterations") int attackIterations,
    @JsonProperty("attack_attempts") int attackAttempts,
    @JsonProperty("erased_cer") double erasedCer,
    // left out of config.json at 0, so that studies made before the option resume
    @JsonProperty("erase_seed") @JsonInclude(JsonInclude.Include.NON_DEFAULT) long eraseSeed) {

  /** The study's name in its {@code config.json}, so that no other kind of study resumes it. */
  @JsonProperty("study")
  public String study() {
    return "full";
  }

  public FullStudySettings {
    if (out == null || model == null || detector == null || promptSets == null) {
      throw new BadInputException("the study needs an output, model, detector and prompt folder");
    }
    beds = List.copyOf(beds);
    sweeps = List.copyOf(sweeps);
    if (beds.isEmpty() || sweeps.isEmpty()) {
      throw new BadInputException("the study needs at least one test bed and one sweep");
    }
    Set<EraseMethod> seen = new HashSet<>();
    for (Sweep w : sweeps) {
      if (!seen.add(w.method())) {
        throw new BadInputException("two sweeps of " + w.method().json());
      }
    }
    if (testPrompts < 1 || retainPrompts < 0 || attackPrompts < 1 || steps < 1) {
      throw new BadInputException(
          "the study needs test and attacked prompts, non-negative retain prompts, positive steps");
    }
    if (attackPrompts > testPrompts) {
      throw new BadInputException("the attacked prompts are a prefix of the test prompts");
    }
    if (attackIterations < 1 || attackAttempts < 1) {
      throw new BadInputException("attack iterations and attempts must be positive");
    }
    if (!(erasedCer > 0 && erasedCer <= 1)) {
      throw new BadInputException("the erasing CER must lie in (0, 1], got " + erasedCer);
    }
  }

  /** The four methods of the paper's comparison, in its tables' order. */
  public static final List<EraseMethod> METHODS =
      List.of(EraseMethod.ESD, EraseMethod.P_ESD, EraseMethod.AC, EraseMethod.P_AC);

  /**
   * The sweeps of the full study, chosen from the world's runs so far (README, "Why P-ESD prunes
   * far more here than in the paper"; the short study's table). Every method but P-AC runs 300
   * steps, twice the short study's: on red P-ESD with ρ 1e-2 erased 8 % of the test reds in 150
   * steps and 70 % in 300, with retain images kept, so 300 steps lets the weaker points erase.
   *
   * <ul>
   *   <li>ESD, learning rate 1e-5 … 3e-4: at 1e-4 (150 steps) it erased red on 40 % of the test
   *       prompts, star on 92 %; at 300 steps (the study's first run) 1e-4 erased every test prompt
   *       of red and star at a retain distance of 1,100–1,900 and 3e-4 doubled that, so the sweep
   *       reaches down to find ESD's cheapest erasing point (1e-3 and 3e-3, the first sweep's, only
   *       break the model further);
   *   <li>P-ESD, budget ρ from the paper's share 1e-5 to 3e-2 (lr 0.1): on red 1e-3 and below
   *       changed nothing, 1e-2 kept the retain images, 1.5e-2 and 2e-2 erased every red and broke
   *       the model, and τ alone pruned 1.6–2.6e-2 on red and star (8.8e-2 of the smaller
   *       cross-attention selection on the style bed), so the transition lies in 1e-2 … 3e-2;
   *   <li>AC, learning rate 1e-5 … 3e-4: at 1e-4 (150 steps) it already erased all three beds (CER
   *       0.96–1.00), so the sweep reaches down to find the cheapest erasing point;
   *   <li>P-AC, steps 150 … 1,000 (the paper's) at its lr 0.01 and τ alone: a logit moves by at
   *       most about lr per AdamW step, so it needs ≥ 100 consistent steps to fall from s₀ = 1 to
   *       τ's 0 — the step count is what sets how many weights it prunes (150 steps: 6e-4 on red,
   *       CER 0.28; on star CER 1.00).
   * </ul>
   */
  public static List<Sweep> fullSweeps() {
    return List.of(
        rates(EraseMethod.ESD, 300, 1e-5, 3e-5, 1e-4, 3e-4),
        budgets(EraseMethod.P_ESD, 300, 1e-5, 1e-3, 1e-2, 1.5e-2, 3e-2),
        rates(EraseMethod.AC, 300, 1e-5, 3e-5, 1e-4, 3e-4),
        steps(EraseMethod.P_AC, 150, 300, 600, 1000));
  }

  /**
   * The full study: the three beds, the four methods' sweeps ({@link #fullSweeps}), all 50 test
   * prompts of each bed for the CER, 200 retain prompts (more than the detector's 64 feature
   * dimensions), the paper's attack budget (10 attempts × 40 iterations; Adam lr 0.01, weight decay
   * 0.1; 5 adversarial tokens for the colour, 3 otherwise) on the first 20 test prompts, 10 DDIM
   * steps per image as in the short study, and test CER 0.9 for a point to count as erasing.
   */
  public static FullStudySettings full(Path out, Path model, Path detector, Path promptSets) {
    return new FullStudySettings(
        out,
        model,
        detector,
        promptSets,
        false,
        DemoSettings.BEDS,
        fullSweeps(),
        50,
        200,
        20,
        10,
        40,
        10,
        0.9,
        0);
  }

  /**
   * {@code --study full --quick}: every step of the full study at a toy scale (two points per sweep
   * of 2–3 erasing steps, 2 test, retain and attacked prompts, 3 DDIM steps, 1 attempt of 1
   * iteration): the plumbing, not the method.
   */
  public static FullStudySettings quick(Path out, Path model, Path detector, Path promptSets) {
    return new FullStudySettings(
        out,
        model,
        detector,
        promptSets,
        true,
        DemoSettings.BEDS,
        List.of(
            rates(EraseMethod.ESD, 3, 1e-4, 1e-3),
            budgets(EraseMethod.P_ESD, 3, 1e-3, 1e-2),
            rates(EraseMethod.AC, 3, 1e-5, 1e-4),
            steps(EraseMethod.P_AC, 2, 3)),
        2,
        2,
        2,
        3,
        1,
        1,
        0.9,
        0);
  }

  /** A sweep of {@code m}'s learning rate at {@code steps} steps. */
  public static Sweep rates(EraseMethod m, int steps, double... rates) {
    return new Sweep(
        m,
        Sweep.Knob.LEARNING_RATE,
        DoubleStream.of(rates).mapToObj(r -> new Sweep.Point(steps, r, null)).toList());
  }

  /** A sweep of {@code m}'s pruning budget at {@code steps} steps and its default rate. */
  public static Sweep budgets(EraseMethod m, int steps, double... ratios) {
    return new Sweep(
        m,
        Sweep.Knob.PRUNE_RATIO,
        DoubleStream.of(ratios).mapToObj(r -> new Sweep.Point(steps, null, r)).toList());
  }

  /** A sweep of {@code m}'s step count at its default rate, without a budget. */
  public static Sweep steps(EraseMethod m, int... steps) {
    return new Sweep(
        m,
        Sweep.Knob.STEPS,
        IntStream.of(steps).mapToObj(n -> new Sweep.Point(n, null, null)).toList());
  }

  /**
   * These settings on a subset of their beds, kept in their order (null: all of them); an unknown
   * or repeated bed is refused with the beds there are.
   */
  public FullStudySettings withBeds(List<String> only) {
    return only == null
        ? this
        : with(out, subset(beds, only, b -> b, "test bed"), sweeps, eraseSeed);
  }

  /**
   * These settings with the sweeps of a subset of their methods, kept in their order (null: all of
   * them), e.g. to run one bed's methods in two processes; an unknown or repeated method is refused
   * with the methods there are.
   */
  public FullStudySettings withMethods(List<String> only) {
    return only == null
        ? this
        : with(out, beds, subset(sweeps, only, w -> w.method().json(), "method"), eraseSeed);
  }

  /** These settings with every erasing run seeded with {@code seed}. */
  public FullStudySettings withEraseSeed(long seed) {
    return with(out, beds, sweeps, seed);
  }

  /** These settings for the study folder {@code folder}. */
  public FullStudySettings withOut(Path folder) {
    return with(folder, beds, sweeps, eraseSeed);
  }

  private FullStudySettings with(
      Path folder, List<String> someBeds, List<Sweep> someSweeps, long seed) {
    return new FullStudySettings(
        folder,
        model,
        detector,
        promptSets,
        quick,
        someBeds,
        someSweeps,
        testPrompts,
        retainPrompts,
        attackPrompts,
        steps,
        attackIterations,
        attackAttempts,
        erasedCer,
        seed);
  }

  private static <T> List<T> subset(
      List<T> all, List<String> only, Function<T, String> name, String what) {
    List<String> names = all.stream().map(name).toList();
    Set<String> wanted = new HashSet<>();
    for (String n : only) {
      if (!names.contains(n)) {
        throw new BadInputException("unknown " + what + " '" + n + "'; the study has " + names);
      }
      if (!wanted.add(n)) {
        throw new BadInputException(what + " '" + n + "' given twice");
      }
    }
    return all.stream().filter(t -> wanted.contains(name.apply(t))).toList();
  }

  /** The sweep of {@code m}, or null. */
  public Sweep sweep(EraseMethod m) {
    for (Sweep w : sweeps) {
      if (w.method() == m) {
        return w;
      }
    }
    return null;
  }
}

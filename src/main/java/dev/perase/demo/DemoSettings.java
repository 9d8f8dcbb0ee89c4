package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code perase demo} runs: the paper's study on the built-in world, scaled to a time budget.
 *
 * @param out the study folder (one sub-folder per test bed, the report at its top)
 * @param model the base model folder
 * @param detector the world's detector folder
 * @param promptSets the folder with the test-bed prompt sets ({@code star.csv}, {@code
 *     star_retain.csv}, …)
 * @param quick the smoke-test scale of {@code --quick}
 * @param beds the test beds, by world concept name (the paper's object, style and implicit concept)
 * @param methods the erasing methods compared with the base model
 * @param eraseSteps optimisation steps per method (by its command-line name)
 * @param testPrompts test prompts per bed for the concept erasure rate
 * @param retainPrompts retain prompts per bed for the Fréchet distance (0: none)
 * @param attackPrompts test prompts per bed that each model is attacked on
 * @param steps DDIM steps of every generation (evaluation, attacks, references)
 * @param attackIterations optimisation iterations per attack attempt (paper: 40)
 * @param attackAttempts attempts per prompt (paper: 10)
 */
public record DemoSettings(
    @JsonProperty("out") @JsonSerialize(using = ToStringSerializer.class) Path out,
    @JsonProperty("model") @JsonSerialize(using = ToStringSerializer.class) Path model,
    @JsonProperty("detector") @JsonSerialize(using = ToStringSerializer.class) Path detector,
    @JsonProperty("prompt_sets") @JsonSerialize(using = ToStringSerializer.class) Path promptSets,
    @JsonProperty("quick") boolean quick,
    @JsonProperty("beds") List<String> beds,
    @JsonProperty("methods") List<EraseMethod> methods,
    @JsonProperty("erase_steps") Map<String, Integer> eraseSteps,
    @JsonProperty("test_prompts") int testPrompts,
    @JsonProperty("retain_prompts") int retainPrompts,
    @JsonProperty("attack_prompts") int attackPrompts,
    @JsonProperty("steps") int steps,
    @JsonProperty("attack_iterations") int attackIterations,
    @JsonProperty("attack_attempts") int attackAttempts) {
  /**
   * The paper's three test beds in the world, in the order of its Tables 1, 3 and 5: the implicit
   * concept (nudity there, the colour red here), a style and an object. The style is Pointel's
   * dots, which the base model draws on 45 of the 50 test prompts (CER 0.10, 10 DDIM steps);
   * Vortex's swirls, the style bed until issue 17, it draws on 21 of 50 (CER 0.58), so erasing
   * Vortex could not be told from not drawing it.
   */
  public static final List<String> BEDS = List.of("red", "Pointel", "star");

  /**
   * The paper's methods (ESD, P-ESD, AC, P-AC; Tables 1, 3, 5) and its comparisons (UCE, FMN,
   * Pre-Prune, Post-Prune, NP-ESD; Tables 1 and 6, Fig. 6a). NP-ESD starts from the ESD model.
   */
  public static final List<EraseMethod> ALL_METHODS =
      List.of(
          EraseMethod.ESD,
          EraseMethod.P_ESD,
          EraseMethod.AC,
          EraseMethod.P_AC,
          EraseMethod.UCE,
          EraseMethod.FMN,
          EraseMethod.PRE_PRUNE,
          EraseMethod.POST_PRUNE,
          EraseMethod.NP_ESD);

  public DemoSettings {
    if (out == null || model == null || detector == null || promptSets == null) {
      throw new BadInputException("the demo needs an output, model, detector and prompt folder");
    }
    beds = List.copyOf(beds);
    methods = List.copyOf(methods);
    eraseSteps = Map.copyOf(eraseSteps);
    for (EraseMethod m : methods) {
      if (!m.closedForm() && m != EraseMethod.NP_ESD && !eraseSteps.containsKey(m.json())) {
        throw new BadInputException("no step count for method " + m.json());
      }
    }
    int esd = methods.indexOf(EraseMethod.ESD);
    if (methods.contains(EraseMethod.NP_ESD)
        && (esd < 0 || methods.indexOf(EraseMethod.NP_ESD) < esd)) {
      throw new BadInputException("np-esd starts from the ESD model: list esd before np-esd");
    }
    if (testPrompts < 1 || retainPrompts < 0 || attackPrompts < 0 || steps < 1) {
      throw new BadInputException("prompt counts must be non-negative and steps positive");
    }
    if (attackIterations < 1 || attackAttempts < 1) {
      throw new BadInputException("attack iterations and attempts must be positive");
    }
  }

  /**
   * The full study: all three beds, the base model and all nine methods. Prompt counts and
   * optimisation budgets are scaled so that it finishes in about 40 minutes on a 2-core laptop CPU:
   * 25 test and 25 retain prompts per bed, 3 attacked prompts, 10 DDIM steps per image, attacks of
   * 3 attempts × 10 iterations (paper: 10 × 40), 150 erasing steps. The paper's learning rates,
   * mask temperature and threshold, attack learning rate and token counts are kept.
   */
  public static DemoSettings full(Path out, Path model, Path detector, Path promptSets) {
    return new DemoSettings(
        out,
        model,
        detector,
        promptSets,
        false,
        BEDS,
        ALL_METHODS,
        // the paper's P-ESD runs 250 mask steps and ESD 1000; the world model is small
        Map.of(
            "esd",
            150,
            "p-esd",
            150,
            "ac",
            150,
            "p-ac",
            150,
            "fmn",
            35,
            "pre-prune",
            150,
            "post-prune",
            150),
        25,
        25,
        3,
        10,
        10,
        3);
  }

  /**
   * {@code --quick}: every step of the full study (all beds and methods, retain prompts, both
   * attacks, the neuron analyses, the report) at a toy scale: about 100 s of one CPU core on the
   * world model. Five optimisation steps hardly move a mask (a logit needs about ten AdamW steps of
   * lr 0.1 to fall from s₀ = 1 to the threshold 0), so the quick P-ESD and P-AC usually prune
   * nothing and draw as the base model does.
   */
  public static DemoSettings quick(Path out, Path model, Path detector, Path promptSets) {
    return new DemoSettings(
        out,
        model,
        detector,
        promptSets,
        true,
        BEDS,
        ALL_METHODS,
        Map.of("esd", 3, "p-esd", 3, "ac", 3, "p-ac", 3, "fmn", 3, "pre-prune", 3, "post-prune", 3),
        2,
        2,
        1,
        3,
        1,
        1);
  }

  public int eraseSteps(EraseMethod m) {
    return eraseSteps.get(m.json());
  }
}

package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.util.function.Consumer;

/**
 * Every setting of one erasure run (written to {@code config.json} and to the checkpoint, so a run
 * can be reproduced and resumed). {@link #defaults} gives the paper's and the original codes'
 * values; the {@code with…} methods override one setting.
 *
 * @param method esd, ac, p-esd, p-ac, fmn, pre-prune or post-prune (UCE, which does not train, has
 *     {@link UceSettings})
 * @param concept the concept prompt c to erase (ESD's {@code --prompt}, e.g. "Van Gogh", "star")
 * @param anchor the anchor prompt c* of AC (e.g. "a cat" for "a Grumpy Cat"); null for ESD
 * @param selection the layer selection, as {@link Selection#name()}
 * @param steps optimisation steps
 * @param learningRate AdamW learning rate
 * @param weightDecay AdamW's decoupled weight decay λ
 * @param seed every random draw of step i derives from (seed, i)
 * @param latentSize side of the latents x_t (the UNet's sample_size unless overridden)
 * @param checkpointEvery a resumable checkpoint is written every this many steps (and at the end)
 * @param esd the ESD objective's settings (null for the other objectives)
 * @param ac the AC objective's settings (null for the other objectives)
 * @param fmn FMN's settings (null for the other methods)
 * @param prune the magnitude pruning of Pre-Prune and Post-Prune (null for the other methods)
 * @param mask the soft mask's T, s₀ and τ (null for the fine-tuning methods)
 */
public record EraseSettings(
    @JsonProperty("method") EraseMethod method,
    @JsonProperty("concept") String concept,
    @JsonProperty("anchor") String anchor,
    @JsonProperty("selection") String selection,
    @JsonProperty("steps") int steps,
    @JsonProperty("learning_rate") double learningRate,
    @JsonProperty("weight_decay") double weightDecay,
    @JsonProperty("seed") long seed,
    @JsonProperty("latent_size") int latentSize,
    @JsonProperty("checkpoint_every") int checkpointEvery,
    @JsonProperty("esd") EsdSettings esd,
    @JsonProperty("ac") AcSettings ac,
    @JsonProperty("fmn") FmnSettings fmn,
    @JsonProperty("prune") PruneSettings prune,
    @JsonProperty("mask") MaskSettings mask) {

  /**
   * UNets with at least this many parameters count as Stable-Diffusion scale for the fine-tuning
   * learning rate (SD v1.x's UNet has 860 M; the built-in world's a few million).
   */
  public static final long LARGE_MODEL_PARAMETERS = 100_000_000L;

  /**
   * Guidance of the images a small model (the built-in world's) generates for AC's anchors and
   * FMN's concept pool: such a model over-shoots into noise at SD's 7.5 (the world's prompt sets
   * use 2).
   */
  public static final double SMALL_MODEL_GUIDANCE = 2.0;

  /**
   * FMN's learning rate for a small UNet such as the world's: FMN's own 2e-6 (for SD) times 10, the
   * factor between ESD's world and SD learning rates. Measured on the world model (star, 35 steps,
   * 10 concept images; attention mass on 16 fixed noised concept images; CER on the 50 star test
   * prompts and Fréchet distance to the base model on 50 retain prompts, 20 DDIM steps; base CER
   * 0.88): 2e-6 lowers the attention mass by 0.3 %; 2e-5 by 3.1 % (CER 0.84, Fréchet 21); 1e-4 by
   * 15 % (CER 0.66, Fréchet 682); 1e-3 by 96 % (CER 0.26, Fréchet 3498). Larger rates move
   * attention off the concept's token but damage the model without erasing it (probably because the
   * concept still reaches the cross attention through the end and padding tokens, which CLIP's
   * causal encoder fills with the whole prompt), so the scaled rate stays the default. The world
   * model measured was the ε-prediction one that is being retrained.
   */
  public static final double FMN_SMALL_MODEL_LR = 2e-5;

  public EraseSettings {
    if (method == null) {
      throw new BadInputException("an erasing method is required: " + EraseMethod.CHOICES);
    }
    if (concept == null || concept.isBlank()) {
      throw new BadInputException("--concept must name the concept to erase");
    }
    switch (method.objective()) {
      case AC -> {
        if (anchor == null || anchor.isBlank()) {
          throw new BadInputException(
              method
                  + " needs an anchor prompt (--anchor), e.g. \"a cat\" to erase \"a Grumpy"
                  + " Cat\"");
        }
        if (ac == null) {
          throw new BadInputException(method + " needs AC settings");
        }
      }
      case ESD -> {
        if (esd == null) {
          throw new BadInputException(method + " needs ESD settings");
        }
      }
      case ATTENTION -> {
        if (fmn == null) {
          throw new BadInputException(method + " needs FMN settings");
        }
      }
      case CLOSED_FORM ->
          throw new BadInputException(
              method + " is a closed-form edit without training steps; it takes UCE settings");
    }
    boolean prunes = method.magnitudePruning() != MagnitudePruning.When.NEVER;
    if (prunes && prune == null) {
      throw new BadInputException(method + " needs a prune ratio");
    }
    if (!prunes && prune != null) {
      throw new BadInputException(
          "a prune ratio belongs to pre-prune and post-prune, not to " + method);
    }
    Selection.parse(selection); // a bad-input error naming the choices
    if (steps < 1) {
      throw new BadInputException("--steps must be at least 1, got " + steps);
    }
    if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
      throw new BadInputException("--lr must be a positive number, got " + learningRate);
    }
    if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
      throw new BadInputException("weight decay must be a number ≥ 0, got " + weightDecay);
    }
    if (latentSize < 1 || latentSize > 1024) {
      throw new BadInputException("the latent size must be between 1 and 1024, got " + latentSize);
    }
    if (checkpointEvery < 1) {
      throw new BadInputException("--checkpoint-every must be at least 1, got " + checkpointEvery);
    }
    if (method.pruning() && mask == null) {
      throw new BadInputException(method + " needs soft-mask settings (T, s₀, τ)");
    }
    if (!method.pruning() && mask != null) {
      throw new BadInputException(method + " fine-tunes weights and takes no soft-mask settings");
    }
  }

  /**
   * The paper's and the original codes' settings:
   *
   * <ul>
   *   <li>P-ESD: AdamW lr 0.1, 250 steps; P-AC: lr 0.01, 1000 steps (paper appendix B.1); weight
   *       decay 0.01 (torch's AdamW default); T = 10, s₀ = 1, τ = 0.5;
   *   <li>ESD and AC fine-tuning: 1000 steps (ESD's {@code iterations}) and no weight decay (ESD
   *       trains with Adam, which is AdamW with λ = 0); lr 1e-5 (ESD's, for SD v1.4) for a UNet of
   *       at least {@link #LARGE_MODEL_PARAMETERS} parameters, and 1e-4 for a small one: the world
   *       model was trained from scratch at 1e-3, and 1e-4 keeps ESD's ratio of fine-tuning to
   *       pre-training learning rate (SD was trained at 1e-4) — at 1e-5 a few-million-parameter
   *       model barely moves in 1000 steps;
   *   <li>ESD: η = 1, start guidance 3, 50 DDIM steps, x_t from the model being erased; AC: a pool
   *       of 8 anchor images, batch 1;
   *   <li>FMN ({@code configs/attn.yaml} of the Forget-Me-Not code): 35 steps, AdamW with weight
   *       decay 0.01, lr 2e-6 for SD and {@link #FMN_SMALL_MODEL_LR} for a small UNet, 10 concept
   *       images, batch 1;
   *   <li>Pre-Prune and Post-Prune: ESD's fine-tuning settings, prune ratio 10 % (paper §4.5).
   * </ul>
   *
   * @param unetParameters number of UNet parameters (for the fine-tuning learning rate)
   * @param latentSize side of the latents (the UNet's sample_size)
   */
  public static EraseSettings defaults(
      EraseMethod method,
      String concept,
      String anchor,
      Selection selection,
      long unetParameters,
      int latentSize) {
    boolean large = unetParameters >= LARGE_MODEL_PARAMETERS;
    int steps;
    double lr;
    double weightDecay = 0;
    switch (method) {
      case P_ESD -> {
        steps = 250;
        lr = 0.1;
        weightDecay = 0.01;
      }
      case P_AC -> {
        steps = 1000;
        lr = 0.01;
        weightDecay = 0.01;
      }
      case FMN -> {
        steps = 35;
        lr = large ? 2e-6 : FMN_SMALL_MODEL_LR;
        weightDecay = 0.01;
      }
      case UCE ->
          throw new BadInputException(
              "uce is a closed-form edit without training steps; it takes UCE settings");
      default -> {
        steps = 1000;
        lr = large ? 1e-5 : 1e-4;
      }
    }
    EraseMethod.Objective o = method.objective();
    return new EraseSettings(
        method,
        concept,
        o == EraseMethod.Objective.AC ? anchor : null,
        selection.name(),
        steps,
        lr,
        weightDecay,
        0,
        latentSize,
        50,
        o == EraseMethod.Objective.ESD ? EsdSettings.DEFAULT : null,
        o == EraseMethod.Objective.AC
            ? (large
                ? AcSettings.DEFAULT
                : AcSettings.DEFAULT.withPoolGuidance(SMALL_MODEL_GUIDANCE))
            : null,
        o == EraseMethod.Objective.ATTENTION
            ? (large
                ? FmnSettings.DEFAULT
                : FmnSettings.DEFAULT.withPoolGuidance(SMALL_MODEL_GUIDANCE))
            : null,
        method.magnitudePruning() != MagnitudePruning.When.NEVER ? PruneSettings.DEFAULT : null,
        method.pruning() ? MaskSettings.DEFAULT : null);
  }

  /** The parsed layer selection. */
  public Selection parsedSelection() {
    return Selection.parse(selection);
  }

  public EraseSettings withSteps(int n) {
    return copy(c -> c.steps = n);
  }

  public EraseSettings withLearningRate(double lr) {
    return copy(c -> c.learningRate = lr);
  }

  public EraseSettings withSeed(long s) {
    return copy(c -> c.seed = s);
  }

  public EraseSettings withCheckpointEvery(int n) {
    return copy(c -> c.checkpointEvery = n);
  }

  public EraseSettings withEsd(EsdSettings e) {
    return copy(c -> c.esd = e);
  }

  public EraseSettings withAc(AcSettings a) {
    return copy(c -> c.ac = a);
  }

  public EraseSettings withFmn(FmnSettings f) {
    return copy(c -> c.fmn = f);
  }

  public EraseSettings withPrune(PruneSettings p) {
    return copy(c -> c.prune = p);
  }

  public EraseSettings withMask(MaskSettings m) {
    return copy(c -> c.mask = m);
  }

  /** These settings with the changes {@code change} makes, checked again as a new record. */
  private EraseSettings copy(Consumer<Copy> change) {
    Copy c = new Copy(this);
    change.accept(c);
    return c.build();
  }

  /** A mutable copy of the settings for the {@code with…} methods. */
  private static final class Copy {
    EraseMethod method;
    String concept;
    String anchor;
    String selection;
    int steps;
    double learningRate;
    double weightDecay;
    long seed;
    int latentSize;
    int checkpointEvery;
    EsdSettings esd;
    AcSettings ac;
    FmnSettings fmn;
    PruneSettings prune;
    MaskSettings mask;

    Copy(EraseSettings s) {
      method = s.method;
      concept = s.concept;
      anchor = s.anchor;
      selection = s.selection;
      steps = s.steps;
      learningRate = s.learningRate;
      weightDecay = s.weightDecay;
      seed = s.seed;
      latentSize = s.latentSize;
      checkpointEvery = s.checkpointEvery;
      esd = s.esd;
      ac = s.ac;
      fmn = s.fmn;
      prune = s.prune;
      mask = s.mask;
    }

    EraseSettings build() {
      return new EraseSettings(
          method,
          concept,
          anchor,
          selection,
          steps,
          learningRate,
          weightDecay,
          seed,
          latentSize,
          checkpointEvery,
          esd,
          ac,
          fmn,
          prune,
          mask);
    }
  }

  /**
   * Whether a checkpoint made with {@code earlier} can be continued with these settings: everything
   * equal except the step count and the checkpoint interval.
   */
  public boolean continues(EraseSettings earlier) {
    return earlier.withSteps(steps).withCheckpointEvery(checkpointEvery).equals(this);
  }

  /** One-line JSON (for metadata of masks, weights and checkpoints). */
  public String toJson() {
    try {
      return Json.MAPPER
          .writer()
          .without(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Reads {@link #toJson()} back; malformed text is a {@link BadInputException} naming {@code
   * where}.
   */
  public static EraseSettings fromJson(String json, String where) {
    try {
      return Json.MAPPER.readValue(json, EraseSettings.class);
    } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new BadInputException(where + ": " + cause.getMessage(), e);
    } catch (JsonProcessingException e) {
      throw new BadInputException(
          where + " holds no readable erase settings: " + e.getOriginalMessage(), e);
    }
  }
}

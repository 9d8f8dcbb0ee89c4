package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;

/**
 * Every setting of one erasure run (written to {@code config.json} and to the checkpoint, so a run
 * can be reproduced and resumed). {@link #defaults} gives the paper's and the original codes'
 * values; the {@code with…} methods override one setting.
 *
 * @param method esd, ac, p-esd or p-ac
 * @param concept the concept prompt c to erase (ESD's {@code --prompt}, e.g. "Van Gogh", "star")
 * @param anchor the anchor prompt c* of AC (e.g. "a cat" for "a Grumpy Cat"); null for ESD
 * @param selection the layer selection, as {@link Selection#name()}
 * @param steps optimisation steps
 * @param learningRate AdamW learning rate
 * @param weightDecay AdamW's decoupled weight decay λ
 * @param seed every random draw of step i derives from (seed, i)
 * @param latentSize side of the latents x_t (the UNet's sample_size unless overridden)
 * @param checkpointEvery a resumable checkpoint is written every this many steps (and at the end)
 * @param esd the ESD objective's settings (null for AC methods)
 * @param ac the AC objective's settings (null for ESD methods)
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
    @JsonProperty("mask") MaskSettings mask) {

  /**
   * UNets with at least this many parameters count as Stable-Diffusion scale for the fine-tuning
   * learning rate (SD v1.x's UNet has 860 M; the built-in world's a few million).
   */
  public static final long LARGE_MODEL_PARAMETERS = 100_000_000L;

  public EraseSettings {
    if (method == null) {
      throw new BadInputException("an erasing method is required: " + EraseMethod.CHOICES);
    }
    if (concept == null || concept.isBlank()) {
      throw new BadInputException("--concept must name the concept to erase");
    }
    if (method.objective() == EraseMethod.Objective.AC) {
      if (anchor == null || anchor.isBlank()) {
        throw new BadInputException(
            method
                + " needs an anchor prompt (--anchor), e.g. \"a cat\" to erase \"a Grumpy Cat\"");
      }
      if (ac == null) {
        throw new BadInputException(method + " needs AC settings");
      }
    } else if (esd == null) {
      throw new BadInputException(method + " needs ESD settings");
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
   *       of 8 anchor images, batch 1.
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
    int steps;
    double lr;
    switch (method) {
      case P_ESD -> {
        steps = 250;
        lr = 0.1;
      }
      case P_AC -> {
        steps = 1000;
        lr = 0.01;
      }
      default -> {
        steps = 1000;
        lr = unetParameters >= LARGE_MODEL_PARAMETERS ? 1e-5 : 1e-4;
      }
    }
    boolean esdBased = method.objective() == EraseMethod.Objective.ESD;
    return new EraseSettings(
        method,
        concept,
        esdBased ? null : anchor,
        selection.name(),
        steps,
        lr,
        method.pruning() ? 0.01 : 0,
        0,
        latentSize,
        50,
        esdBased ? EsdSettings.DEFAULT : null,
        esdBased ? null : AcSettings.DEFAULT,
        method.pruning() ? MaskSettings.DEFAULT : null);
  }

  /** The parsed layer selection. */
  public Selection parsedSelection() {
    return Selection.parse(selection);
  }

  public EraseSettings withSteps(int n) {
    return new EraseSettings(
        method,
        concept,
        anchor,
        selection,
        n,
        learningRate,
        weightDecay,
        seed,
        latentSize,
        checkpointEvery,
        esd,
        ac,
        mask);
  }

  public EraseSettings withLearningRate(double lr) {
    return new EraseSettings(
        method,
        concept,
        anchor,
        selection,
        steps,
        lr,
        weightDecay,
        seed,
        latentSize,
        checkpointEvery,
        esd,
        ac,
        mask);
  }

  public EraseSettings withWeightDecay(double wd) {
    return new EraseSettings(
        method,
        concept,
        anchor,
        selection,
        steps,
        learningRate,
        wd,
        seed,
        latentSize,
        checkpointEvery,
        esd,
        ac,
        mask);
  }

  public EraseSettings withSeed(long s) {
    return new EraseSettings(
        method,
        concept,
        anchor,
        selection,
        steps,
        learningRate,
        weightDecay,
        s,
        latentSize,
        checkpointEvery,
        esd,
        ac,
        mask);
  }

  public EraseSettings withLatentSize(int size) {
    return new EraseSettings(
        method,
        concept,
        anchor,
        selection,
        steps,
        learningRate,
        weightDecay,
        seed,
        size,
        checkpointEvery,
        esd,
        ac,
        mask);
  }

  public EraseSettings withCheckpointEvery(int n) {
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
        n,
        esd,
        ac,
        mask);
  }

  public EraseSettings withEsd(EsdSettings e) {
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
        e,
        ac,
        mask);
  }

  public EraseSettings withAc(AcSettings a) {
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
        a,
        mask);
  }

  public EraseSettings withMask(MaskSettings m) {
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
        m);
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

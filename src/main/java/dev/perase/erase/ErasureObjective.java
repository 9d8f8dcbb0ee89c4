package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.pipeline.StableDiffusion;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * An erasing objective in the form of paper Eq. 1: the model being erased, ε_θ, is trained so that
 * on the concept prompt c it predicts a target built from the frozen original model θ*:
 *
 * <pre>
 *   L(θ) = ‖ε_θ(x_t, c, t) − target‖²     (mean over elements, torch's MSELoss)
 * </pre>
 *
 * A step has two phases: {@link #prepare} draws x_t and t and computes the target with no gradient
 * (θ* through a {@link FrozenModel}), then {@link #loss} runs ε_θ inside the trainer's gradient
 * recording. Fine-tuning and mask training use the same objectives. FMN's {@link
 * AttentionResteering} replaces the loss by the attention mass on the concept's tokens.
 */
public sealed interface ErasureObjective permits Esd, AnchorAblation, AttentionResteering {

  /**
   * What one step trains towards.
   *
   * @param xt the noisy latents x_t, (B, C, h, w)
   * @param timesteps t of each batch element (1000-step DDPM scale)
   * @param context the text states of the concept prompt c, (B, 77, D)
   * @param target the target of Eq. 1, (B, C, h, w), without gradient (null for FMN)
   * @param ddimIndex ESD's DDIM step index k (−1 for AC and FMN)
   */
  record Step(NDArray xt, int[] timesteps, NDArray context, NDArray target, int ddimIndex) {}

  /**
   * Draws x_t and t from {@code rng} and computes the target, all in {@code scope}. Call it outside
   * gradient recording, with the model being erased in its current state (its mask installed).
   */
  Step prepare(SplittableRandom rng, NDManager scope);

  /** The arrays the objective keeps across steps (prompt embeddings, the image pool). */
  NDList arrays();

  /** The image pool made before training (AC's anchor images, FMN's concept images), or null. */
  default NDArray pool() {
    return null;
  }

  /**
   * The loss of a prepared step on the model being erased; call it inside gradient recording. The
   * result lands in the manager of {@code step.xt()}. By default Eq. 1's {@link #mse}.
   */
  default NDArray loss(UNet2DConditionModel unet, Step step) {
    return mse(unet, step);
  }

  /**
   * {@link #loss} and its backward with the UNet's activations recomputed layer by layer ({@link
   * UNet2DConditionModel#lossBackwardCheckpointed}); returns the loss. Call it inside gradient
   * recording. By default Eq. 1's {@link #mse}; an objective that reads the UNet's taps does not
   * support it. {@code gradientsDone} hears the key prefixes of the parameters whose gradients are
   * complete, segment by segment.
   */
  default float lossBackwardCheckpointed(
      UNet2DConditionModel unet, Step step, Consumer<List<String>> gradientsDone) {
    return unet.lossBackwardCheckpointed(
        step.xt(),
        timesteps(step),
        step.context(),
        prediction -> mse(prediction, step),
        gradientsDone);
  }

  /** {@code mean((ε_θ(x_t, c, t) − target)²)} (torch's MSELoss). */
  static NDArray mse(UNet2DConditionModel unet, Step step) {
    return mse(unet.forward(step.xt(), timesteps(step), step.context()), step);
  }

  private static NDArray mse(NDArray prediction, Step step) {
    NDArray diff = prediction.sub(step.target());
    return diff.mul(diff).mean();
  }

  private static NDArray timesteps(Step step) {
    float[] t = new float[step.timesteps().length];
    for (int i = 0; i < t.length; i++) {
      t[i] = step.timesteps()[i];
    }
    return step.xt().getManager().create(t);
  }

  /**
   * The objective of {@code settings}: {@link Esd}, {@link AnchorAblation} or {@link
   * AttentionResteering}. For AC and FMN, {@code pool} is the image pool of a checkpoint, or null
   * to generate it with {@code frozen} now.
   */
  static ErasureObjective create(
      StableDiffusion sd,
      FrozenModel frozen,
      EraseSettings settings,
      NDArray pool,
      NDManager manager) {
    return switch (settings.method().objective()) {
      case ESD ->
          new Esd(sd, frozen, settings.esd(), settings.concept(), settings.latentSize(), manager);
      case AC -> {
        NDArray p =
            pool != null
                ? pool
                : AnchorAblation.generatePool(
                    sd,
                    frozen,
                    settings.ac(),
                    settings.anchor(),
                    settings.latentSize(),
                    settings.seed(),
                    manager);
        yield new AnchorAblation(
            sd, frozen, settings.ac(), settings.concept(), settings.anchor(), p, manager);
      }
      case ATTENTION -> {
        NDArray p =
            pool != null
                ? pool
                : AttentionResteering.generatePool(
                    sd,
                    frozen,
                    settings.fmn(),
                    settings.concept(),
                    settings.latentSize(),
                    settings.seed(),
                    manager);
        yield new AttentionResteering(sd, settings.fmn(), settings.concept(), p, manager);
      }
      case CLOSED_FORM, CONCEPT_NEURONS ->
          throw new IllegalArgumentException(settings.method() + " has no training objective");
    };
  }
}

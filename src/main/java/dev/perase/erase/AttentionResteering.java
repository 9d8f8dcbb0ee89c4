package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Taps;
import dev.perase.model.unet.Attention;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.pipeline.StableDiffusion;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * FMN's attention re-steering (Zhang et al. 2023, "Forget-Me-Not: Learning to Forget in
 * Text-to-Image Diffusion Models", §3; {@code src/train_attn.py}): the model is trained so that its
 * cross attentions stop looking at the concept's tokens while it denoises images of the concept,
 *
 * <pre>
 *   L(θ) = Σ_l mean_{b, h, n, k ∈ K} A_l[b, h, n, k],   A_l = softmax(Q Kᵀ / √d) of attention l
 * </pre>
 *
 * summed over every cross attention ({@code attn2}) l, averaged over the batch, heads, image
 * positions and the concept's token positions K. The maps are read from the UNet's {@code
 * <attn2>.attention_probs} taps. FMN's code takes the L2 norm of those entries instead of their
 * mean and clips gradients to norm 1; with Adam both change the step sizes little.
 *
 * <p>x_t as FMN trains: an image of the concept, noised to a uniform timestep t. The images come
 * from the frozen original model before training (FMN takes a handful of real photos; a pool made
 * by the base model plays their role here, as for AC). The conditioning prompt is the concept
 * prompt itself, so K is every word token of it: positions 1 … n of [start, w₁ … wₙ, end, pad …].
 */
public final class AttentionResteering implements ErasureObjective {
  private final StableDiffusion sd;
  private final FmnSettings settings;

  /** The embedding of the concept prompt, (1, 77, D). */
  private final NDArray concept;

  /** 1 at the concept's token positions, 0 elsewhere, (77,). */
  private final NDArray positions;

  private final int tokenCount;

  /** Concept images x₀, (P, C, h, w). */
  private final NDArray pool;

  /**
   * @param pool concept latents (P, C, h, w) from {@link #generatePool}, attached to {@code
   *     manager}
   */
  public AttentionResteering(
      StableDiffusion sd,
      FmnSettings settings,
      String conceptPrompt,
      NDArray pool,
      NDManager manager) {
    this.sd = sd;
    this.settings = settings;
    this.concept = sd.encodePrompts(List.of(conceptPrompt), manager);
    int length = (int) concept.getShape().get(1);
    int[] k = tokenPositions(sd, conceptPrompt, length);
    if (k.length == 0) {
      throw new BadInputException(
          "the concept prompt \"" + conceptPrompt + "\" has no tokens for FMN to look away from");
    }
    float[] mask = new float[length];
    for (int p : k) {
      mask[p] = 1;
    }
    this.positions = manager.create(mask);
    this.tokenCount = k.length;
    this.pool = pool;
  }

  /** FMN's images: {@code settings.poolSize()} images of the concept made by θ*. */
  public static NDArray generatePool(
      StableDiffusion sd,
      FrozenModel frozen,
      FmnSettings settings,
      String conceptPrompt,
      int latentSize,
      long seed,
      NDManager manager) {
    return AnchorAblation.generateImages(
        sd,
        frozen,
        conceptPrompt,
        settings.poolSize(),
        settings.poolSteps(),
        settings.poolGuidance(),
        latentSize,
        seed,
        manager);
  }

  /**
   * The positions of a prompt's word tokens in its padded ids: 1 … n (n words, cut where the end
   * token would fall past the padded length). A prompt without words has none.
   */
  static int[] tokenPositions(StableDiffusion sd, String prompt, int length) {
    int words = Math.min(sd.tokenizer().encodeNoPad(prompt).length, length) - 2;
    int[] k = new int[Math.max(words, 0)];
    for (int i = 0; i < k.length; i++) {
      k[i] = i + 1;
    }
    return k;
  }

  /** The number of the concept's token positions |K|. */
  public int tokenCount() {
    return tokenCount;
  }

  @Override
  public NDArray pool() {
    return pool;
  }

  @Override
  public NDList arrays() {
    return new NDList(concept, positions, pool);
  }

  @Override
  public Step prepare(SplittableRandom rng, NDManager scope) {
    int b = settings.batchSize();
    AnchorAblation.Noised n = AnchorAblation.noise(pool, b, sd.scheduler().schedule(), rng, scope);
    return new Step(n.xt(), n.timesteps(), concept.repeat(0, b), null, -1);
  }

  /** Σ over the cross attentions of the mean attention probability on the concept's tokens. */
  /** FMN reads the UNet's attention taps, which the layer-by-layer recomputation does not keep. */
  @Override
  public float lossBackwardCheckpointed(
      UNet2DConditionModel unet, Step step, Consumer<List<String>> gradientsDone) {
    throw new BadInputException("FMN does not support activation checkpointing");
  }

  @Override
  public NDArray loss(UNet2DConditionModel unet, Step step) {
    List<NDArray> maps = new ArrayList<>();
    Taps taps =
        (name, value) -> {
          if (name.endsWith(Attention.PROBS_TAP)) {
            maps.add(value);
          }
        };
    NDArray xt = step.xt();
    float[] t = new float[step.timesteps().length];
    for (int i = 0; i < t.length; i++) {
      t[i] = step.timesteps()[i];
    }
    unet.forward(xt, xt.getManager().create(t), step.context(), taps);
    return attentionMass(maps, positions, tokenCount);
  }

  /**
   * Σ_l mean of {@code maps[l]} (B, heads, N, M) over the token positions marked 1 in {@code
   * positions} (M,), of which there are {@code count}.
   */
  static NDArray attentionMass(List<NDArray> maps, NDArray positions, int count) {
    if (maps.isEmpty()) {
      throw new IllegalArgumentException("the UNet reported no cross-attention maps");
    }
    NDArray total = null;
    for (NDArray a : maps) {
      long[] s = a.getShape().getShape();
      float entries = (float) s[0] * s[1] * s[2] * Math.max(count, 1);
      // Σ_{b,h,n} Σ_k A[b,h,n,k]·1[k ∈ K] / (B·heads·N·|K|)
      NDArray onConcept = a.mul(positions).sum();
      NDArray mean = onConcept.div(onConcept.getManager().create(entries));
      total = total == null ? mean : total.add(mean);
    }
    return total;
  }
}

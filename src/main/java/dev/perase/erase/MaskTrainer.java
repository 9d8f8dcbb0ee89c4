package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.AdamW;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * P-ESD and P-AC (paper §3.3, Alg. 1): learns the soft mask {@code m = sigmoid(T·s)} over the
 * selected weights with the torch-exact AdamW on the logits s, minimising the ESD or AC objective
 * of the masked model; the base weights never change. θ* of the objective is the same model with
 * the mask switched off. The result is the hard mask {@code 1[m > τ]} as a {@link BinaryMask} file.
 *
 * <p>The loop is {@link ErasingLoop}'s; what this class adds is the trained part ({@link Logits}):
 *
 * <ol>
 *   <li>with the mask installed and no gradient: the objective draws x_t (ESD samples it with the
 *       masked model) and computes its target with the mask off;
 *   <li>with the mask installed inside gradient recording: the loss, backward to s;
 *   <li>AdamW on s.
 * </ol>
 *
 * Outputs in the run folder: {@code mask.safetensors}, {@code config.json}, {@code log.jsonl}
 * (loss, lr and phase times per step; the mask mean and pruned count at steps 1–10, every tenth and
 * the last) and {@code checkpoint.safetensors}.
 */
public final class MaskTrainer {
  public static final String OUTPUT = "mask.safetensors";

  private MaskTrainer() {}

  /**
   * Whether P-ESD stores the masked weights in float16 where that is exact ({@link Logits}); tests
   * switch it off to compare.
   */
  static volatile boolean halfStorage = true;

  /**
   * Trains (or with {@code resume} continues) the mask of {@code settings} on {@code sd}'s UNet and
   * writes it to {@code out}; {@code onStep} hears every finished step (1-based). The pipeline's
   * weights are left as they were, with no mask set.
   */
  public static Erasure train(
      StableDiffusion sd, EraseSettings settings, Path out, boolean resume, IntConsumer onStep) {
    if (!settings.method().pruning()) {
      throw new IllegalArgumentException(settings.method() + " is not a pruning method");
    }
    ParamSet params = sd.unet().params();
    Selection selection = settings.parsedSelection();
    selection.selectSome(params); // refuse an empty selection before the run folder is touched
    return ErasingLoop.run(
        sd,
        settings,
        out,
        resume,
        onStep,
        manager ->
            new Logits(
                SoftMask.create(params, selection, settings.mask(), manager),
                FrozenModel.masksOff(params),
                settings));
  }

  /** P-ESD's trained part: the soft mask's logits s, installed as m = σ(T·s) for each pass. */
  static final class Logits implements ErasingLoop.Trainable {
    private final SoftMask mask;
    private final FrozenModel original;
    private final EraseSettings settings;
    private final List<Param> halved = new ArrayList<>();
    private GradientStats lastStep;
    private int optimizerSteps;

    /**
     * Takes the masked weights W of {@code mask} into float16 storage where that is exact (weights
     * from a float16 checkpoint, as SD v1.x is usually shipped): W is only read, as float32 copies
     * made one layer at a time, so this saves 2 B per masked parameter with equal results.
     */
    Logits(SoftMask mask, FrozenModel original, EraseSettings settings) {
      this.mask = mask;
      this.original = original;
      this.settings = settings;
      for (Param p : mask.params()) {
        if (halfStorage && p.storeHalfIfExact()) {
          halved.add(p);
        }
      }
    }

    /** The masked weights stored in float16 during the run. */
    long halvedElements() {
      return halved.stream().mapToLong(Param::numel).sum();
    }

    /** Stores the halved weights in float32 again: the pipeline's model is as it was. */
    @Override
    public void close() {
      for (Param p : halved) {
        p.storeFull();
      }
      halved.clear();
    }

    @Override
    public List<NDArray> parameters() {
      return mask.logits();
    }

    @Override
    public Map<String, NDArray> state() {
      return mask.namedLogits();
    }

    @Override
    public FrozenModel original() {
      return original;
    }

    @Override
    public NDList arrays() {
      return new NDList(mask.logits().toArray(new NDArray[0]));
    }

    @Override
    public void install(NDManager step) {
      mask.install(step);
    }

    @Override
    public void uninstall() {
      mask.uninstall();
    }

    /** Only ESD's x_t from the model being erased reads the mask before the loss. */
    @Override
    public boolean samplesTrained(ErasureObjective objective) {
      return objective instanceof Esd esd
          && esd.settings().xtSource() == EsdSettings.XtSource.ERASED;
    }

    @Override
    public List<String> nonFiniteGradients() {
      return mask.nonFiniteGradients();
    }

    @Override
    public void gradientsComplete(List<String> keyPrefixes) {
      mask.gradientsComplete(keyPrefixes);
    }

    /** The gradients live on the installed products, which uninstalling frees. */
    @Override
    public void discardGradients(AdamW optimizer) {}

    /**
     * AdamW on ∂L/∂s, formed from ∂L/∂(W ⊙ m) one tensor at a time, counting the gradients and the
     * steps for the log ({@link GradientStats}).
     */
    @Override
    public void optimizerStep(AdamW optimizer) {
      int t = optimizer.stepCount() + 1;
      optimizerSteps = t;
      if (!GradientStats.recordedAt(t)) {
        optimizer.step(mask::gradient);
        mask.logitsChanged();
        lastStep = null;
        return;
      }
      GradientStats stats = new GradientStats(ErasingLoop.EPS);
      optimizer.step(
          i -> {
            NDArray g = mask.gradient(i);
            stats.addGradient(g);
            return g;
          });
      mask.logitsChanged();
      stats.addSteps(
          optimizer.expAvg(), optimizer.expAvgSq(), t, ErasingLoop.BETA1, ErasingLoop.BETA2);
      lastStep = stats;
    }

    /**
     * The mask's mean and pruned count at the steps whose gradients are counted ({@link
     * GradientStats#recordedAt}) and at the last step: a pass over every logit that took about two
     * minutes of an SD v1.4 step over its 815 M non-cross-attention logits here.
     */
    @Override
    public void log(ObjectNode line) {
      int t = optimizerSteps;
      if (!GradientStats.recordedAt(t) && t != settings.steps()) {
        return;
      }
      SoftMask.Stats stats = mask.stats();
      line.put("mask_mean", stats.mean());
      line.put("pruned", stats.pruned());
      if (lastStep != null) {
        lastStep.log(line);
      }
    }

    @Override
    public Erasure finish(Path out, RunFolder run, String modelHash, Map<String, Object> result) {
      BinaryMask hard =
          mask.toBinary(modelHash, settings.method().json(), settings.concept(), settings.toJson());
      Path artifact = out.resolve(OUTPUT);
      hard.write(artifact);
      Erasure e = run.erasure(artifact, hard.prunedCount(), mask.elementCount());
      result.put("pruned", e.prunedCount());
      result.put("selected_elements", e.selectedElements());
      result.put("pruned_ratio", hard.ratio());
      return e;
    }
  }
}

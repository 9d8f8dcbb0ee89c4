package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.AdamW;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The fine-tuning methods ESD, AC and FMN, and the paper's Pre-Prune and Post-Prune (§4.5): the
 * selected UNet weights themselves are trained on the objective with the torch-exact AdamW (ESD
 * uses Adam, which is AdamW with weight decay 0, the default here). θ* of the objective is the same
 * UNet with the original values of the selected tensors swapped in ({@link OriginalWeights}: one
 * copy of the selection, not a second UNet).
 *
 * <p>Magnitude pruning ({@link MagnitudePruning}): Pre-Prune zeroes the selected base weights of
 * smallest |w| before the first step and multiplies their gradients by 0 after every backward pass,
 * so AdamW leaves them at exactly 0 (a zero gradient keeps both moments, and so the update, at 0;
 * decoupled weight decay scales 0 to 0). θ* stays the unpruned original model, as ESD's code loads
 * its frozen copy from the checkpoint. Post-Prune zeroes the fine-tuned weights of smallest |w|
 * after the last step. Both write the pruned elements as {@value MagnitudePruning#MASK_OUTPUT}.
 *
 * <p>The loop is {@link ErasingLoop}'s; the trained part ({@link Weights}) is the selected tensors
 * themselves: the objective draws x_t (ESD samples it with the current weights) and its target
 * without gradient, then the loss runs inside gradient recording and AdamW updates the selected
 * tensors in place.
 *
 * <p>Outputs in the run folder: {@code weights.safetensors} (the selected tensors only, F32, under
 * diffusers keys; see {@link FineTunedWeights}), {@code config.json}, {@code log.jsonl} and {@code
 * checkpoint.safetensors} (whose weights are those before Post-Prune's pruning, so a resumed run
 * trains on and prunes again). The pipeline passed in holds the fine-tuned (and pruned) weights
 * afterwards.
 */
public final class FineTuneTrainer {
  public static final String OUTPUT = "weights.safetensors";

  private FineTuneTrainer() {}

  /**
   * Fine-tunes (or with {@code resume} continues) the selection of {@code settings} on {@code sd}'s
   * UNet and writes the result to {@code out}; {@code onStep} hears every finished step.
   */
  public static Erasure train(
      StableDiffusion sd, EraseSettings settings, Path out, boolean resume, IntConsumer onStep) {
    if (settings.method().pruning() || settings.method().closedForm()) {
      throw new IllegalArgumentException(settings.method() + " is not a fine-tuning method");
    }
    List<Param> selected = settings.parsedSelection().selectSome(sd.unet().params());
    return ErasingLoop.run(
        sd, settings, out, resume, onStep, manager -> new Weights(selected, settings, manager));
  }

  /**
   * The trained part of fine-tuning: the selected tensors, trained in place; θ* is a copy of their
   * originals. Pre-Prune zeroes its pruned weights here, before the first step.
   */
  static final class Weights implements ErasingLoop.Trainable {
    private final List<Param> selected;
    private final EraseSettings settings;
    private final OriginalWeights originals;
    private final MagnitudePruning.When when;
    private final Map<Param, NDArray> frozenZero;
    private final Map<String, NDArray> state = new LinkedHashMap<>();
    private final List<NDArray> values;
    private final NDManager manager;
    private Map<String, BinaryMask.Pruned> pruned;
    private final long elements;

    Weights(List<Param> selected, EraseSettings settings, NDManager manager) {
      this.selected = selected;
      this.settings = settings;
      this.manager = manager;
      this.when = settings.method().magnitudePruning();
      // θ*: the originals of the selection, copied before anything is trained
      this.originals = new OriginalWeights(selected, manager);
      // Pre-Prune: the base weights of smallest |w|, zero from here on (again when resuming: the
      // selection depends on the base weights only)
      if (when == MagnitudePruning.When.BEFORE) {
        pruned = MagnitudePruning.select(selected, settings.prune().ratio());
        frozenZero = MagnitudePruning.keepMasks(selected, pruned, manager);
        MagnitudePruning.zero(frozenZero);
      } else {
        frozenZero = Map.of();
      }
      values = new ArrayList<>(selected.size());
      long n = 0;
      for (Param p : selected) {
        p.value().setRequiresGradient(true);
        values.add(p.value());
        state.put(p.name(), p.value());
        n += p.numel();
      }
      elements = n;
    }

    @Override
    public List<NDArray> parameters() {
      return values;
    }

    @Override
    public Map<String, NDArray> state() {
      return state;
    }

    @Override
    public FrozenModel original() {
      return originals;
    }

    @Override
    public NDList arrays() {
      NDList out = new NDList();
      out.addAll(originals.arrays());
      out.addAll(new NDList(frozenZero.values().toArray(new NDArray[0])));
      return out;
    }

    @Override
    public void install(NDManager step) {}

    @Override
    public void uninstall() {}

    @Override
    public boolean samplesTrained(ErasureObjective objective) {
      return false; // the trained weights are the model's own: sampling sees them anyway
    }

    @Override
    public List<String> nonFiniteGradients() {
      List<String> bad = new java.util.ArrayList<>();
      for (Map.Entry<String, NDArray> e : state.entrySet()) {
        try (NDArray g = e.getValue().getGradient()) {
          if (!SoftMask.finite(g)) {
            bad.add(e.getKey());
          }
        }
      }
      return bad;
    }

    @Override
    public void discardGradients(AdamW optimizer) {
      optimizer.zeroGrad();
    }

    /** Pre-Prune: no gradient to the pruned weights, so AdamW leaves them at 0. */
    @Override
    public void optimizerStep(AdamW optimizer) {
      for (Map.Entry<Param, NDArray> e : frozenZero.entrySet()) {
        try (NDArray g = e.getKey().value().getGradient()) {
          g.muli(e.getValue());
        }
      }
      optimizer.step();
      optimizer.zeroGrad();
    }

    @Override
    public void log(ObjectNode line) {}

    /**
     * Post-Prune zeroes the fine-tuned weights of smallest |w| (the checkpoint keeps them
     * unpruned); then the selected tensors and, for the prune methods, the pruned elements as a
     * mask file.
     */
    @Override
    public Erasure finish(Path out, RunFolder run, String modelHash, Map<String, Object> result) {
      if (when == MagnitudePruning.When.AFTER) {
        pruned = MagnitudePruning.select(selected, settings.prune().ratio());
        Map<Param, NDArray> keep = MagnitudePruning.keepMasks(selected, pruned, manager);
        MagnitudePruning.zero(keep);
        keep.values().forEach(NDArray::close);
      }
      Path artifact = out.resolve(OUTPUT);
      FineTunedWeights.write(artifact, selected, modelHash, settings);
      long prunedCount = -1;
      BinaryMask prunedMask = null;
      if (pruned != null) {
        prunedMask = MagnitudePruning.mask(pruned, modelHash, settings);
        prunedMask.write(out.resolve(MagnitudePruning.MASK_OUTPUT));
        prunedCount = prunedMask.prunedCount();
      }
      Erasure e = run.erasure(artifact, prunedCount, elements);
      result.put("selected_elements", elements);
      if (prunedMask != null) {
        result.put("prune_mask", MagnitudePruning.MASK_OUTPUT);
        result.put("pruned", prunedCount);
        result.put("pruned_ratio", prunedMask.ratio());
      }
      return e;
    }
  }
}

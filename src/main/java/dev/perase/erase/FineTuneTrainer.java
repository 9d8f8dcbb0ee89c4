package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
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
 * <p>Each step runs in its own {@link StepScope}: the objective draws x_t (ESD samples it with the
 * current weights) and its target without gradient, then the loss runs inside gradient recording
 * and AdamW updates the selected tensors in place.
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
    MagnitudePruning.When when = settings.method().magnitudePruning();
    Selection selection = settings.parsedSelection();
    ParamSet params = sd.unet().params();
    List<Param> selected = selection.select(params);
    if (selected.isEmpty()) {
      throw new BadInputException(
          "layer selection '"
              + selection.name()
              + "' matches no conv or linear parameter of the model");
    }
    String hash = sd.layout().modelHash();
    RunFolder run = RunFolder.open(out, settings, hash, resume);
    try (NDManager manager = Torch.newManager()) {
      // θ*: the originals of the selection, copied before anything is trained
      OriginalWeights originals = new OriginalWeights(selected, manager);
      // Pre-Prune: the base weights of smallest |w|, zero from here on (again when resuming: the
      // selection depends on the base weights only)
      Map<String, BinaryMask.Pruned> pruned = null;
      Map<Param, NDArray> frozenZero = Map.of();
      if (when == MagnitudePruning.When.BEFORE) {
        pruned = MagnitudePruning.select(selected, settings.prune().ratio());
        frozenZero = MagnitudePruning.keepMasks(selected, pruned, manager);
        MagnitudePruning.zero(frozenZero);
      }
      Map<String, NDArray> state = new LinkedHashMap<>();
      List<NDArray> values = new ArrayList<>(selected.size());
      long elements = 0;
      for (Param p : selected) {
        p.value().setRequiresGradient(true);
        values.add(p.value());
        state.put(p.name(), p.value());
        elements += p.numel();
      }
      AdamW optimizer =
          new AdamW(
              values, manager, settings.learningRate(), 0.9, 0.999, 1e-8, settings.weightDecay());
      if (run.startStep() > 0) {
        run.restore(state, optimizer, manager);
      }
      ErasureObjective objective =
          ErasureObjective.create(sd, originals, settings, run.pool(manager), manager);
      NDArray pool = objective.pool();
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("selection", RunFolder.summary(selection.summarize(params)));
      extra.put("status", "running");
      run.writeConfig(sd.layout().dir(), extra);

      NDList persistent = new NDList();
      persistent.addAll(params.arrays());
      persistent.addAll(originals.arrays());
      persistent.addAll(new NDList(optimizer.expAvg().toArray(new NDArray[0])));
      persistent.addAll(new NDList(optimizer.expAvgSq().toArray(new NDArray[0])));
      persistent.addAll(objective.arrays());
      persistent.addAll(new NDList(frozenZero.values().toArray(new NDArray[0])));

      int step = run.startStep();
      while (step < settings.steps()) {
        long t0 = System.nanoTime();
        float loss;
        int[] timesteps;
        int k;
        try (StepScope scope = StepScope.open(manager, persistent)) {
          // 1. x_t and the target, no gradient
          ErasureObjective.Step s =
              objective.prepare(RunFolder.stepRandom(settings.seed(), step), scope.manager());
          timesteps = s.timesteps();
          k = s.ddimIndex();
          // 2. ‖ε_θ(x_t, c, t) − target‖² with gradients to the selected weights
          try (GradientCollector gc = Torch.engine().newGradientCollector()) {
            NDArray l = objective.loss(sd.unet(), s);
            loss = l.getFloat();
            gc.backward(l);
          }
          if (!Float.isFinite(loss)) {
            throw new BadInputException(
                "the loss became " + loss + " at step " + (step + 1) + "; lower --lr");
          }
          // 3. Pre-Prune: no gradient to the pruned weights; then AdamW on the selected weights,
          // in place
          for (Map.Entry<Param, NDArray> e : frozenZero.entrySet()) {
            try (NDArray g = e.getKey().value().getGradient()) {
              g.muli(e.getValue());
            }
          }
          optimizer.setLearningRate(settings.learningRate());
          optimizer.step();
          optimizer.zeroGrad();
        }
        step++;
        double dt = (System.nanoTime() - t0) / 1e9;
        run.endStep(
            step,
            loss,
            dt,
            run.logLine(step, loss, settings.learningRate(), timesteps, k, dt),
            state,
            optimizer,
            pool);
        if (onStep != null) {
          onStep.accept(step);
        }
      }
      // Post-Prune: the fine-tuned weights of smallest |w| (the checkpoint keeps them unpruned)
      if (when == MagnitudePruning.When.AFTER) {
        pruned = MagnitudePruning.select(selected, settings.prune().ratio());
        Map<Param, NDArray> keep = MagnitudePruning.keepMasks(selected, pruned, manager);
        MagnitudePruning.zero(keep);
        keep.values().forEach(NDArray::close);
      }
      Path artifact = out.resolve(OUTPUT);
      FineTunedWeights.write(artifact, selected, hash, settings);
      long prunedCount = -1;
      BinaryMask prunedMask = null;
      if (pruned != null) {
        prunedMask = MagnitudePruning.mask(pruned, hash, settings);
        prunedMask.write(out.resolve(MagnitudePruning.MASK_OUTPUT));
        prunedCount = prunedMask.prunedCount();
      }
      Erasure result = run.erasure(artifact, prunedCount, elements);
      Map<String, Object> r = RunFolder.result(result);
      r.put("selected_elements", elements);
      if (prunedMask != null) {
        r.put("prune_mask", MagnitudePruning.MASK_OUTPUT);
        r.put("pruned", prunedCount);
        r.put("pruned_ratio", prunedMask.ratio());
      }
      extra.put("status", "finished");
      extra.put("result", r);
      run.writeConfig(sd.layout().dir(), extra);
      return result;
    }
  }
}

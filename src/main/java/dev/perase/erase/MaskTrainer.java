package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * P-ESD and P-AC (paper §3.3, Alg. 1): learns the soft mask {@code m = sigmoid(T·s)} over the
 * selected weights with the torch-exact AdamW on the logits s, minimising the ESD or AC objective
 * of the masked model; the base weights never change. θ* of the objective is the same model with
 * the mask switched off. The result is the hard mask {@code 1[m > τ]} as a {@link BinaryMask} file.
 *
 * <p>Each step runs in its own {@link StepScope} with the weights, logits, optimiser state and the
 * objective's arrays temp-attached, so memory stays flat over the run:
 *
 * <ol>
 *   <li>with the mask installed and no gradient: the objective draws x_t (ESD samples it with the
 *       masked model) and computes its target with the mask off;
 *   <li>with the mask installed inside gradient recording: the loss, backward to s;
 *   <li>AdamW on s.
 * </ol>
 *
 * Outputs in the run folder: {@code mask.safetensors}, {@code config.json}, {@code log.jsonl}
 * (loss, lr, mask mean and pruned count per step) and {@code checkpoint.safetensors}.
 */
public final class MaskTrainer {
  public static final String OUTPUT = "mask.safetensors";

  private MaskTrainer() {}

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
    Selection selection = settings.parsedSelection();
    ParamSet params = sd.unet().params();
    String hash = sd.layout().modelHash();
    RunFolder run = RunFolder.open(out, settings, hash, resume);
    try (NDManager manager = Torch.newManager();
        SoftMask mask = SoftMask.create(params, selection, settings.mask(), manager)) {
      AdamW optimizer =
          new AdamW(
              mask.logits(),
              manager,
              settings.learningRate(),
              0.9,
              0.999,
              1e-8,
              settings.weightDecay());
      Map<String, NDArray> state = mask.namedLogits();
      if (run.startStep() > 0) {
        run.restore(state, optimizer, manager);
      }
      ErasureObjective objective =
          ErasureObjective.create(
              sd, FrozenModel.masksOff(params), settings, run.pool(manager), manager);
      NDArray pool = objective.pool();
      // only ESD's x_t from the model being erased reads the mask before the loss
      boolean sampleMasked =
          objective instanceof Esd esd && esd.settings().xtSource() == EsdSettings.XtSource.ERASED;
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("selection", RunFolder.summary(selection.summarize(params)));
      extra.put("status", "running");
      run.writeConfig(sd.layout().dir(), extra);

      NDList persistent = new NDList();
      persistent.addAll(params.arrays());
      persistent.addAll(new NDList(mask.logits().toArray(new NDArray[0])));
      persistent.addAll(new NDList(optimizer.expAvg().toArray(new NDArray[0])));
      persistent.addAll(new NDList(optimizer.expAvgSq().toArray(new NDArray[0])));
      persistent.addAll(objective.arrays());

      int step = run.startStep();
      while (step < settings.steps()) {
        long t0 = System.nanoTime();
        float loss;
        ErasureObjective.Step s;
        try (StepScope scope = StepScope.open(manager, persistent)) {
          NDManager sm = scope.manager();
          // 1. x_t and the target, no gradient; ESD samples x_t from the masked model W ⊙ σ(T·s)
          if (sampleMasked) {
            mask.install(sm);
          }
          try {
            s = objective.prepare(RunFolder.stepRandom(settings.seed(), step), sm);
          } finally {
            mask.uninstall();
          }
          // 2. ‖ε_θ(x_t, c, t) − target‖² with gradients to the logits
          try (GradientCollector gc = Torch.engine().newGradientCollector()) {
            mask.install(sm);
            NDArray l = objective.loss(sd.unet(), s);
            loss = l.getFloat();
            gc.backward(l);
          } finally {
            mask.uninstall();
          }
          if (!Float.isFinite(loss)) {
            throw new BadInputException(
                "the loss became " + loss + " at step " + (step + 1) + "; lower --lr");
          }
          // 3. AdamW on s
          optimizer.setLearningRate(settings.learningRate());
          optimizer.step();
          optimizer.zeroGrad();
        }
        step++;
        SoftMask.Stats stats = stats(mask, manager);
        double dt = (System.nanoTime() - t0) / 1e9;
        ObjectNode line =
            run.logLine(step, loss, settings.learningRate(), s.timesteps(), s.ddimIndex(), dt);
        line.put("mask_mean", stats.mean());
        line.put("pruned", stats.pruned());
        run.endStep(step, loss, dt, line, state, optimizer, pool);
        if (onStep != null) {
          onStep.accept(step);
        }
      }
      BinaryMask hard =
          mask.toBinary(hash, settings.method().json(), settings.concept(), settings.toJson());
      Path artifact = out.resolve(OUTPUT);
      hard.write(artifact);
      Erasure result = run.erasure(artifact, hard.prunedCount(), mask.elementCount());
      extra.put("status", "finished");
      extra.put("result", result(result, hard));
      run.writeConfig(sd.layout().dir(), extra);
      return result;
    }
  }

  /** Logits per group of the statistics pass: few ops per step, bounded scratch memory. */
  static final long STATS_GROUP_ELEMENTS = 1L << 24;

  /**
   * The mask's mean and pruned count, as {@link SoftMask#stats()} computes them (m = σ(T·s), pruned
   * where ¬(m > τ)), over the logits concatenated in groups of about 16 M elements: a handful of
   * ops per group instead of per tensor (the world's UNet has hundreds of small tensors), and
   * bounded scratch memory (SD's selections have hundreds of millions of elements).
   */
  static SoftMask.Stats stats(SoftMask mask, NDManager manager) {
    return stats(mask, manager, STATS_GROUP_ELEMENTS);
  }

  static SoftMask.Stats stats(SoftMask mask, NDManager manager, long groupElements) {
    NDList logits = new NDList(mask.logits().toArray(new NDArray[0]));
    double sum = 0;
    long pruned = 0;
    int i = 0;
    while (i < logits.size()) {
      try (StepScope scope = StepScope.open(manager, logits)) {
        NDManager sm = scope.manager();
        NDList group = new NDList();
        long n = 0;
        while (i < logits.size()
            && (group.isEmpty() || n + logits.get(i).size() <= groupElements)) {
          n += logits.get(i).size();
          group.add(logits.get(i++).flatten());
        }
        NDArray all = group.size() == 1 ? group.get(0) : NDArrays.concat(group, 0);
        NDArray m = Activation.sigmoid(sm.create((float) mask.settings().temperature()).mul(all));
        sum += m.toType(DataType.FLOAT64, false).sum().getDouble();
        pruned += m.gt((float) mask.settings().threshold()).logicalNot().countNonzero().getLong();
      }
    }
    return new SoftMask.Stats(sum / mask.elementCount(), pruned);
  }

  private static Map<String, Object> result(Erasure e, BinaryMask hard) {
    Map<String, Object> r = RunFolder.result(e);
    r.put("pruned", e.prunedCount());
    r.put("selected_elements", e.selectedElements());
    r.put("pruned_ratio", hard.ratio());
    return r;
  }
}

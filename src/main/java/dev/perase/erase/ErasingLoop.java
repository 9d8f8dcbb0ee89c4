package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
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
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * The erasing loop of the paper's Alg. 1, once for every trained method: per step, draw x_t and the
 * objective's target without gradient, the loss ‖ε_θ(x_t, c, t) − target‖² inside gradient
 * recording, then the torch-exact AdamW on what is trained — the mask logits s of P-ESD and P-AC
 * ({@link MaskTrainer}), or the selected weights of ESD, AC, FMN, Pre- and Post-Prune ({@link
 * FineTuneTrainer}). The {@link Trainable} is the only difference between them.
 *
 * <p>Each step runs in its own {@link StepScope} with the model's weights, the trainable's arrays,
 * the optimiser's moments and the objective's arrays temp-attached, so memory stays flat. The run
 * folder ({@link RunFolder}) holds the config, the log, the checkpoint that resumes the run and the
 * result.
 */
final class ErasingLoop {
  /** AdamW's betas and ε: torch's defaults, as ESD's code uses them. */
  static final double BETA1 = 0.9;

  static final double BETA2 = 0.999;
  static final double EPS = 1e-8;

  private ErasingLoop() {}

  /** What Alg. 1 trains, and what it writes at the end. */
  sealed interface Trainable extends AutoCloseable
      permits MaskTrainer.Logits, FineTuneTrainer.Weights {
    /** The tensors AdamW updates, in a fixed order. */
    List<NDArray> parameters();

    /** The trained tensors under their parameter's full key, for the checkpoint. */
    Map<String, NDArray> state();

    /** θ* of the objective: the model before erasing. */
    FrozenModel original();

    /** Arrays the trainable keeps across steps (besides the parameters of the model). */
    NDList arrays();

    /**
     * Puts the trained state into the model for this step's forward passes ({@code step} owns what
     * it makes); {@link #uninstall()} takes it out. Fine-tuned weights are the model's own: no-op.
     */
    void install(NDManager step);

    void uninstall();

    /**
     * Whether the objective's x_t sampling must see the trained state (ESD from the erased model).
     */
    boolean samplesTrained(ErasureObjective objective);

    /**
     * The optimiser step after backward: AdamW on the autograd gradients of the fine-tuned weights
     * (Pre-Prune zeroes those of its pruned weights first), or on the mask logits' gradients formed
     * from the installed products.
     */
    void optimizerStep(AdamW optimizer);

    /**
     * The names of the trained tensors whose gradient after backward holds a NaN or an infinity
     * (checked before the optimiser step), or none.
     */
    List<String> nonFiniteGradients();

    /**
     * Hears, during a checkpointed backward, the key prefixes of the parameters whose gradients are
     * complete: a mask forms their ∂L/∂s at once and frees their products, so that a step never
     * holds every product and its gradient together.
     */
    default void gradientsComplete(List<String> keyPrefixes) {}

    /** Drops the gradients of a step that is computed again (the weights' accumulate). */
    void discardGradients(AdamW optimizer);

    /** Extra fields of the step's log line (mask mean and pruned count), or none. */
    void log(ObjectNode line);

    /**
     * Writes the run's artifact into {@code out} and returns the result; {@code result} receives
     * the fields of {@code config.json}'s result beyond {@link RunFolder#result}.
     */
    Erasure finish(Path out, RunFolder run, String modelHash, Map<String, Object> result);

    /** Gives the model back as it was before the run (before the run's manager is closed). */
    @Override
    default void close() {}
  }

  /**
   * Runs (or with {@code resume} continues) the erasing of {@code settings} on {@code sd}'s UNet
   * into {@code out}; {@code onStep} hears every finished step (1-based).
   *
   * @param trainable makes the trained part in the run's manager (after the run folder is opened)
   */
  static Erasure run(
      StableDiffusion sd,
      EraseSettings settings,
      Path out,
      boolean resume,
      IntConsumer onStep,
      Function<NDManager, Trainable> trainable) {
    Selection selection = settings.parsedSelection();
    ParamSet params = sd.unet().params();
    String hash = sd.layout().modelHash();
    RunFolder run = RunFolder.open(out, settings, hash, resume);
    try (NDManager manager = Torch.newManager();
        Trainable t = trainable.apply(manager)) {
      AdamW optimizer =
          new AdamW(
              t.parameters(),
              manager,
              settings.learningRate(),
              BETA1,
              BETA2,
              EPS,
              settings.weightDecay());
      Map<String, NDArray> state = t.state();
      if (run.startStep() > 0) {
        run.restore(state, optimizer, manager);
      }
      ErasureObjective objective =
          ErasureObjective.create(sd, t.original(), settings, run.pool(manager), manager);
      NDArray pool = objective.pool();
      boolean sampleTrained = t.samplesTrained(objective);
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("selection", RunFolder.summary(selection.summarize(params)));
      extra.put("status", "running");
      run.writeConfig(sd.layout(), extra);

      NDList persistent = new NDList();
      persistent.addAll(params.arrays());
      persistent.addAll(t.arrays());
      persistent.addAll(new NDList(optimizer.expAvg().toArray(new NDArray[0])));
      persistent.addAll(new NDList(optimizer.expAvgSq().toArray(new NDArray[0])));
      persistent.addAll(objective.arrays());

      int step = run.startStep();
      while (step < settings.steps()) {
        long t0 = System.nanoTime();
        Attempt a = null;
        List<String> faults = new ArrayList<>();
        for (int attempt = 0; a == null; attempt++) {
          a =
              attempt(
                  sd,
                  settings,
                  t,
                  objective,
                  optimizer,
                  manager,
                  persistent,
                  step,
                  attempt,
                  sampleTrained);
          if (a.fault() != null) {
            faults.add(a.fault());
            if (attempt == MAX_RETRIES) {
              throw new NonFiniteException(
                  "step "
                      + (step + 1)
                      + " gave a non-finite loss or gradient "
                      + (MAX_RETRIES + 1)
                      + " times ("
                      + a.fault()
                      + "); lower --lr, or resume from the last checkpoint");
            }
            a = null;
          }
        }
        float loss = a.loss();
        ErasureObjective.Step s = a.step();
        step++;
        ObjectNode stats = Json.MAPPER.createObjectNode();
        long tLog = System.nanoTime();
        t.log(stats);
        double logSeconds = since(tLog);
        if (!faults.isEmpty()) {
          // the same inputs gave a finite step on a later try: a fault of the machine's kernels
          // (README, Known problems), not of the settings
          stats.putPOJO("recomputed", faults);
        }
        double dt = (System.nanoTime() - t0) / 1e9;
        ObjectNode line =
            run.logLine(step, loss, settings.learningRate(), s.timesteps(), s.ddimIndex(), dt);
        line.setAll(stats);
        a.phases().log(line, logSeconds);
        run.endStep(step, loss, dt, line, state, optimizer, pool);
        if (onStep != null) {
          onStep.accept(step);
        }
      }
      Map<String, Object> r = new LinkedHashMap<>();
      Erasure result = t.finish(out, run, hash, r);
      Map<String, Object> all = RunFolder.result(result);
      all.putAll(r);
      extra.put("status", "finished");
      extra.put("result", all);
      run.writeConfig(sd.layout(), extra);
      return result;
    }
  }

  /**
   * How often a step whose loss or gradient is not finite is computed again from the same inputs
   * before the run stops. On this project's machine libtorch's CPU kernels now and then return a
   * NaN gradient for a finite loss (README, Known problems); the same step computed again is
   * finite.
   */
  static final int MAX_RETRIES = 3;

  /**
   * Tests only: whether try k of step i (both 0-based) counts as non-finite, as the fault would.
   */
  static volatile BiPredicate<Integer, Integer> faultInjection = (step, tryNumber) -> false;

  /** A step that stays non-finite after {@link #MAX_RETRIES} tries. */
  static final class NonFiniteException extends BadInputException {
    NonFiniteException(String message) {
      super(message);
    }
  }

  /** One try of a step: its loss and inputs, or what was not finite (no update made then). */
  private record Attempt(float loss, ErasureObjective.Step step, String fault, Phases phases) {}

  /**
   * Seconds of one try's phases, for the log line ({@code phases}): x_t and the target without
   * gradient, the loss with its backward, the finiteness check, and the optimiser step (for a mask:
   * ∂L/∂s formed, AdamW, and the gradient histograms where they are taken).
   */
  record Phases(double prepare, double lossBackward, double check, double optimizer) {
    /** Puts the phases, and the seconds of the step's log statistics, into a log line. */
    void log(ObjectNode line, double statistics) {
      ObjectNode o = line.putObject("phases");
      o.put("prepare", round(prepare));
      o.put("loss_backward", round(lossBackward));
      o.put("check", round(check));
      o.put("optimizer", round(optimizer));
      o.put("statistics", round(statistics));
    }

    private static double round(double seconds) {
      return Math.round(seconds * 1e3) / 1e3;
    }
  }

  private static double since(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Attempt attempt(
      StableDiffusion sd,
      EraseSettings settings,
      Trainable t,
      ErasureObjective objective,
      AdamW optimizer,
      NDManager manager,
      NDList persistent,
      int step,
      int tryNumber,
      boolean sampleTrained) {
    try (StepScope scope = StepScope.open(manager, persistent)) {
      NDManager sm = scope.manager();
      // 1. x_t and the target, no gradient
      ErasureObjective.Step s;
      long t0 = System.nanoTime();
      // the trained state installed for the sampling stays for the loss: the same values (a mask's
      // product over SD v1.4's 815 M non-cross-attention weights takes tens of seconds to form)
      if (sampleTrained) {
        t.install(sm);
      }
      try {
        s = objective.prepare(RunFolder.stepRandom(settings.seed(), step), sm);
      } catch (RuntimeException | Error e) {
        t.uninstall();
        throw e;
      }
      double prepare = since(t0);
      // 2. ‖ε_θ(x_t, c, t) − target‖² with gradients to what is trained, then 3. AdamW
      long t1 = System.nanoTime();
      if (!sampleTrained) {
        t.install(sm);
      }
      try {
        float loss;
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          if (sd.unet().checkpointsActivations()) {
            loss = objective.lossBackwardCheckpointed(sd.unet(), s, t::gradientsComplete);
          } else {
            NDArray l = objective.loss(sd.unet(), s);
            loss = l.getFloat();
            gc.backward(l);
          }
        }
        double lossBackward = since(t1);
        long t2 = System.nanoTime();
        String fault = null;
        if (faultInjection.test(step, tryNumber)) {
          fault = "injected";
        } else if (!Float.isFinite(loss)) {
          fault = "loss " + loss;
        } else {
          List<String> bad = t.nonFiniteGradients();
          if (!bad.isEmpty()) {
            fault = "gradient of " + bad.size() + " tensors, first " + bad.get(0);
          }
        }
        double check = since(t2);
        if (fault != null) {
          t.discardGradients(optimizer);
          return new Attempt(loss, s, fault, null);
        }
        long t3 = System.nanoTime();
        optimizer.setLearningRate(settings.learningRate());
        t.optimizerStep(optimizer);
        return new Attempt(loss, s, null, new Phases(prepare, lossBackward, check, since(t3)));
      } finally {
        t.uninstall();
      }
    }
  }
}

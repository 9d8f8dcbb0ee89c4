package dev.perase.tensor;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Activation checkpointing by hand: a network cut into segments runs forward without recording
 * gradients, keeping only each segment's inputs; backward then re-runs one segment at a time with
 * recording on and pushes the gradient of its outputs through it ({@code torch.autograd.backward}
 * with a given output gradient). Memory holds one segment's activations instead of the whole
 * network's, for one more forward. PyTorch's {@code torch.utils.checkpoint} does this with a custom
 * autograd function; DJL has none, so the caller drives the segments (see {@code
 * UNet2DConditionModel#lossBackwardCheckpointed}).
 *
 * <p>Every segment runs in its own sub-manager of {@code scope} whose inputs are fresh views of the
 * values given, so that its intermediate arrays land there and are freed when it ends; only its
 * outputs (and input gradients) move to {@code scope}. Gradients of trained leaves (weights, a
 * mask's products) accumulate across segments as in one backward pass; a leaf read by one segment
 * only gets the same gradient, one read by several (none in a UNet) the same sum in another order.
 */
public final class Checkpoint {
  private final NDManager scope;
  private final Map<NDArray, NDArray> grads = new IdentityHashMap<>();

  public Checkpoint(NDManager scope) {
    this.scope = scope;
  }

  /**
   * Runs {@code f} on views of {@code inputs} without recording gradients; its outputs move to the
   * scope, everything else it made is freed.
   */
  public List<NDArray> forward(List<NDArray> inputs, Function<List<NDArray>, List<NDArray>> f) {
    boolean recording = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try (NDManager tmp = scope.newSubManager()) {
      List<NDArray> out = f.apply(views(inputs, tmp, Set.of()));
      for (NDArray o : out) {
        o.attach(scope);
      }
      return out;
    } finally {
      JniUtils.setGradMode(recording);
    }
  }

  /**
   * Re-runs {@code f} on {@code inputs} with gradients recorded and runs backward from its outputs
   * with the output gradients collected so far ({@link #addGradient}); the gradients of the inputs
   * in {@code needGradient} are then added to theirs. Outputs without a gradient are skipped; an
   * output that is the same array as an earlier one counts once.
   */
  public void backward(
      List<NDArray> inputs,
      List<NDArray> outputs,
      Set<NDArray> needGradient,
      Function<List<NDArray>, List<NDArray>> f) {
    try (NDManager tmp = scope.newSubManager()) {
      List<NDArray> leaves = views(inputs, tmp, needGradient);
      List<NDArray> again = f.apply(leaves);
      List<NDArray> from = new ArrayList<>();
      List<NDArray> with = new ArrayList<>();
      Set<NDArray> seen = Collections.newSetFromMap(new IdentityHashMap<>());
      for (int i = 0; i < outputs.size(); i++) {
        NDArray g = grads.get(outputs.get(i));
        // an output no trained leaf reaches (a segment with nothing trained upstream) is skipped
        if (g != null && seen.add(outputs.get(i))) {
          from.add(again.get(i));
          with.add(g);
        }
      }
      if (backward(from, with)) {
        collect(inputs, leaves, needGradient);
      }
    }
  }

  /**
   * Re-runs {@code f} on {@code inputs} with gradients recorded, runs backward from the scalar it
   * returns and collects the gradients of the inputs in {@code needGradient}; returns the scalar's
   * value.
   */
  public float backwardFromLoss(
      List<NDArray> inputs, Set<NDArray> needGradient, Function<List<NDArray>, NDArray> f) {
    try (NDManager tmp = scope.newSubManager()) {
      List<NDArray> leaves = views(inputs, tmp, needGradient);
      NDArray loss = f.apply(leaves);
      float value = loss.getFloat();
      if (backward(List.of(loss), List.of(loss.onesLike()))) {
        collect(inputs, leaves, needGradient);
      }
      return value;
    }
  }

  /** Adds {@code g} to the gradient collected for {@code value} (a segment's input or output). */
  public void addGradient(NDArray value, NDArray g) {
    NDArray sum = grads.get(value);
    if (sum == null) {
      g.attach(scope);
      grads.put(value, g);
    } else {
      sum.addi(g);
    }
  }

  /** The gradient collected for {@code value}, or null. */
  public NDArray gradient(NDArray value) {
    return grads.get(value);
  }

  /**
   * Backward from {@code outputs} with the given gradients: the gradients of every leaf they depend
   * on are accumulated; the graph is kept until the last one. An output that no trained leaf
   * reaches (nothing recorded it: a segment or time embedding with nothing trained) is skipped.
   * Returns whether any output was reached.
   */
  public static boolean backward(List<NDArray> outputs, List<NDArray> gradients) {
    boolean any = false;
    for (int i = 0; i < outputs.size(); i++) {
      try {
        JniUtils.backward(
            (PtNDArray) outputs.get(i),
            (PtNDArray) gradients.get(i),
            i < outputs.size() - 1,
            false);
        any = true;
      } catch (EngineException e) {
        // DJL answers requires_grad with whether a .grad exists, so ask autograd itself
        if (e.getMessage() == null || !e.getMessage().contains("does not require grad")) {
          throw e;
        }
      }
    }
    return any;
  }

  private void collect(List<NDArray> inputs, List<NDArray> leaves, Set<NDArray> needGradient) {
    for (int i = 0; i < inputs.size(); i++) {
      if (needGradient.contains(inputs.get(i))) {
        NDArray g = leaves.get(i).getGradient();
        addGradient(inputs.get(i), g.duplicate());
        g.close();
      }
    }
  }

  /** Fresh views of {@code inputs} in {@code tmp}; those in {@code leaves} require gradient. */
  private static List<NDArray> views(
      List<NDArray> inputs, NDManager tmp, Set<NDArray> needGradient) {
    List<NDArray> out = new ArrayList<>(inputs.size());
    for (NDArray x : inputs) {
      NDArray v = x.stopGradient();
      v.attach(tmp);
      if (needGradient.contains(x)) {
        v.setRequiresGradient(true);
      }
      out.add(v);
    }
    return out;
  }

  /** An identity set of arrays (needGradient arguments). */
  public static Set<NDArray> identitySet(List<NDArray> arrays) {
    Set<NDArray> s = Collections.newSetFromMap(new IdentityHashMap<>());
    s.addAll(arrays);
    return s;
  }
}

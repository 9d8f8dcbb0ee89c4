package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of one checkpoint component, loaded as float32 NDArrays, with strict bookkeeping: a
 * model takes each key once through {@link Weights}, and {@link #requireAllUsed()} names any key
 * left over. Missing keys and wrong shapes fail when asked for, naming the key.
 */
public final class StateDict {
  private final String source;
  private final Map<String, NDArray> tensors;
  private final Set<String> used = new LinkedHashSet<>();
  private final ParamSet params = new ParamSet();
  private final Initializer initializer;

  /** Makes a tensor for a key that a fresh (untrained) state dict is asked for. */
  @FunctionalInterface
  public interface Initializer {
    NDArray create(String key, Param.Kind kind, long[] shape);
  }

  public StateDict(String source, Map<String, NDArray> tensors) {
    this(source, tensors, null);
  }

  private StateDict(String source, Map<String, NDArray> tensors, Initializer initializer) {
    this.source = source;
    this.tensors = new LinkedHashMap<>(tensors);
    this.initializer = initializer;
  }

  /**
   * An empty state dict that creates each tensor when a model asks for it: building a model on it
   * initialises the model from scratch (see {@link Init}).
   */
  public static StateDict fresh(String source, Initializer initializer) {
    return new StateDict(source, Map.of(), initializer);
  }

  /**
   * Loads every tensor of a safetensors file into {@code manager}, as float32, by positional reads
   * through one buffer: no mapped page of the file stays resident beside the arrays.
   */
  public static StateDict load(SafeTensors file, NDManager manager) {
    Map<String, NDArray> t = new LinkedHashMap<>();
    ByteBuffer scratch = file.scratch();
    for (String k : file.keys()) {
      if (!file.info(k).dtype().isFloat()) {
        throw new BadInputException(
            file.path()
                + ": tensor '"
                + k
                + "' is "
                + file.info(k).dtype()
                + ", but model weights must be F32, F16 or BF16");
      }
      t.put(k, file.load(k, manager, scratch));
    }
    return new StateDict(file.path().toString(), t);
  }

  /**
   * A view of the keys under {@code prefix.} (e.g. "model.diffusion_model"), for single-file
   * checkpoints.
   */
  public static StateDict subset(StateDict all, String prefix, String source) {
    Map<String, NDArray> t = new LinkedHashMap<>();
    String p = prefix + ".";
    for (Map.Entry<String, NDArray> e : all.tensors.entrySet()) {
      if (e.getKey().startsWith(p)) {
        t.put(e.getKey().substring(p.length()), e.getValue());
        all.used.add(e.getKey());
      }
    }
    return new StateDict(source, t);
  }

  public String source() {
    return source;
  }

  public Weights root() {
    return new Weights(this, "");
  }

  public ParamSet params() {
    return params;
  }

  public Set<String> keys() {
    return tensors.keySet();
  }

  public boolean has(String key) {
    return tensors.containsKey(key);
  }

  /**
   * The tensor under {@code key} without taking it, to inspect or convert it before the model is
   * built.
   */
  public NDArray tensor(String key) {
    NDArray v = tensors.get(key);
    if (v == null) {
      throw new IllegalArgumentException("no key " + key);
    }
    return v;
  }

  /** Renames a key before the model is built (for older key spellings). */
  public void rename(String from, String to) {
    NDArray v = tensors.remove(from);
    if (v == null) {
      throw new IllegalArgumentException("no key " + from);
    }
    tensors.put(to, v);
  }

  /**
   * Replaces a tensor's value before the model is built (e.g. a [C, C, 1, 1] conv weight as [C,
   * C]).
   */
  public void replace(String key, NDArray value) {
    if (!tensors.containsKey(key)) {
      throw new IllegalArgumentException("no key " + key);
    }
    tensors.put(key, value);
  }

  NDArray take(String key, Param.Kind kind, long[] shape) {
    if (initializer != null && !tensors.containsKey(key)) {
      tensors.put(key, initializer.create(key, kind, shape));
    }
    NDArray v = tensors.get(key);
    if (v == null) {
      throw new BadInputException(source + " is missing the tensor '" + key + "'");
    }
    long[] actual = v.getShape().getShape();
    if (!java.util.Arrays.equals(actual, shape)) {
      throw new BadInputException(
          source
              + ": tensor '"
              + key
              + "' has shape "
              + java.util.Arrays.toString(actual)
              + ", expected "
              + java.util.Arrays.toString(shape));
    }
    if (!used.add(key)) {
      throw new IllegalStateException("tensor '" + key + "' taken twice");
    }
    return v;
  }

  /** Fails naming the keys no layer took (an unused key means a wrong architecture or config). */
  public void requireAllUsed() {
    List<String> unused = new ArrayList<>();
    for (String k : new TreeSet<>(tensors.keySet())) {
      if (!used.contains(k)) {
        unused.add(k);
      }
    }
    if (!unused.isEmpty()) {
      throw new BadInputException(
          source
              + " has "
              + unused.size()
              + " tensor(s) the model does not use, first '"
              + unused.get(0)
              + "' (wrong config or architecture?)");
    }
  }
}

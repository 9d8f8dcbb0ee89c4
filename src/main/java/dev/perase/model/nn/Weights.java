package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;

/**
 * A prefix-scoped view of a {@link StateDict}: {@code w.child("to_out").child(0).param("weight",
 * ...)} takes the key {@code <prefix>.to_out.0.weight}, checks its shape and registers it as a
 * {@link Param} under its full dotted name.
 */
public final class Weights {
  private final StateDict dict;
  private final String prefix;

  Weights(StateDict dict, String prefix) {
    this.dict = dict;
    this.prefix = prefix;
  }

  public Weights child(String name) {
    return new Weights(dict, key(name));
  }

  public Weights child(int index) {
    return child(Integer.toString(index));
  }

  public String prefix() {
    return prefix;
  }

  /** The full key of a name under this view. */
  public String key(String name) {
    return prefix.isEmpty() ? name : prefix + "." + name;
  }

  public boolean has(String name) {
    return dict.has(key(name));
  }

  /** Takes a tensor, checks its shape and registers it as a parameter of the given kind. */
  public Param param(String name, Param.Kind kind, long... shape) {
    String k = key(name);
    NDArray v = dict.take(k, kind, shape);
    return dict.params().add(k, kind, v);
  }

  /** Takes a tensor that is not a parameter (a buffer such as position ids), checking its shape. */
  public NDArray buffer(String name, long... shape) {
    return dict.take(key(name), null, shape);
  }
}

package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The named parameters of one model (UNet, text encoder or VAE) in load order, with the switch that
 * turns every mask on or off at once: with masks off the model is the original θ*, without a second
 * copy of the weights.
 */
public final class ParamSet {
  private final Map<String, Param> params = new LinkedHashMap<>();
  private boolean masksEnabled = true;

  Param add(String name, Param.Kind kind, NDArray value) {
    if (params.containsKey(name)) {
      throw new IllegalStateException("parameter '" + name + "' loaded twice");
    }
    Param p = new Param(name, kind, value, this);
    params.put(name, p);
    return p;
  }

  /** Parameters by full dotted key, in load order. */
  public Map<String, Param> named() {
    return Collections.unmodifiableMap(params);
  }

  public Param get(String name) {
    Param p = params.get(name);
    if (p == null) {
      throw new dev.perase.io.BadInputException("the model has no parameter '" + name + "'");
    }
    return p;
  }

  public boolean masksEnabled() {
    return masksEnabled;
  }

  public void setMasksEnabled(boolean on) {
    masksEnabled = on;
  }

  /**
   * Runs {@code body} with every mask switched off (the original model θ*), then restores the
   * switch.
   */
  public <T> T withMasksOff(Supplier<T> body) {
    boolean before = masksEnabled;
    masksEnabled = false;
    try {
      return body.get();
    } finally {
      masksEnabled = before;
    }
  }

  /**
   * The stored values and any masks, for {@code NDManager.tempAttachAll} at the start of a step.
   */
  public NDList arrays() {
    NDList list = new NDList(params.size());
    for (Param p : params.values()) {
      list.add(p.value());
    }
    return list;
  }

  public long numel() {
    long n = 0;
    for (Param p : params.values()) {
      n += p.numel();
    }
    return n;
  }
}

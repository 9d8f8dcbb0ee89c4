package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * One named parameter tensor and the masking hook of DESIGN.md §4. Every layer reads its weight
 * through {@link #effective()}, which returns {@code W} or {@code W ⊙ m}: the single place where
 * soft masks (training), hard masks (inference) and "mask off" (the frozen original model θ*) act.
 */
public final class Param {
  /** What kind of layer owns the parameter; masks and selections apply to LINEAR and CONV. */
  public enum Kind {
    LINEAR,
    CONV,
    NORM,
    EMBEDDING
  }

  private final String name;
  private final Kind kind;
  private final ParamSet owner;
  private NDArray value;
  private NDArray mask;
  private NDArray masked;
  private NDArray product;

  Param(String name, Kind kind, NDArray value, ParamSet owner) {
    this.name = name;
    this.kind = kind;
    this.value = value;
    this.owner = owner;
  }

  /** The full dotted diffusers key, e.g. {@code down_blocks.1.attentions.0.proj_in.weight}. */
  public String name() {
    return name;
  }

  public Kind kind() {
    return kind;
  }

  /** True for weights and biases of Linear and Conv2d layers, the parameters the paper masks. */
  public boolean maskable() {
    return kind == Kind.LINEAR || kind == Kind.CONV;
  }

  /**
   * The stored weight W (never changed by masking): float32, or float16 while {@link
   * #storeHalfIfExact} holds it so; {@link #valueF32()} reads it as float32 either way.
   */
  public NDArray value() {
    return value;
  }

  /** Whether W is stored in float16 ({@link #storeHalfIfExact}). */
  public boolean halfStored() {
    return value.getDataType() == DataType.FLOAT16;
  }

  /**
   * W in float32 for computing: the stored array itself, or a fresh exact copy when W is stored in
   * float16. Hand the result to {@link #release} once the op that reads it has run.
   */
  public NDArray valueF32() {
    return halfStored() ? value.toType(DataType.FLOAT32, false) : value;
  }

  /**
   * Frees {@code read}, an array returned by {@link #effective()} or {@link #valueF32()}, when it
   * is a temporary (a float32 copy of a float16 W, or a soft mask's product formed on read); the
   * stored weight, a cached hard-masked product and an installed product are kept. Safe inside
   * gradient recording: autograd holds its own reference to what it saved.
   */
  public void release(NDArray read) {
    if (read != null && read != value && read != masked && read != product) {
      read.close();
    }
  }

  /**
   * Stores W in float16 when that loses nothing (every element is a float16 value, as in a
   * checkpoint saved in float16), halving its memory; reads through {@link #effective()} and {@link
   * #valueF32()} then give the same float32 values as before. Returns whether W is now stored in
   * float16. {@link #storeFull()} undoes it exactly.
   */
  public boolean storeHalfIfExact() {
    if (halfStored()) {
      return true;
    }
    if (mask != null || product != null) {
      return false;
    }
    NDArray half = halfIfExact(value);
    if (half == null) {
      return false;
    }
    value.close();
    value = half;
    return true;
  }

  /**
   * A float16 copy of the float32 array {@code w} when it holds every value exactly (w came from a
   * float16 file), else null; {@code w} is untouched.
   */
  public static NDArray halfIfExact(NDArray w) {
    if (w.getDataType() != DataType.FLOAT32) {
      return null;
    }
    NDArray half = w.toType(DataType.FLOAT16, false);
    try (NDArray back = half.toType(DataType.FLOAT32, false);
        NDArray same = back.eq(w);
        NDArray all = same.all()) {
      if (all.getBoolean()) {
        return half;
      }
    }
    half.close();
    return null;
  }

  /** Stores W in float32 again (exactly the values it had before {@link #storeHalfIfExact}). */
  public void storeFull() {
    if (halfStored()) {
      NDArray full = value.toType(DataType.FLOAT32, false);
      value.close();
      value = full;
    }
  }

  /**
   * Replaces the stored weight (loading fine-tuned weights, or training them); drops a cached
   * product.
   */
  public void setValue(NDArray newValue) {
    if (!java.util.Arrays.equals(newValue.getShape().getShape(), value.getShape().getShape())) {
      throw new IllegalArgumentException(
          name + ": new value has shape " + newValue.getShape() + ", expected " + value.getShape());
    }
    this.value = newValue;
    this.masked = null;
    if (mask != null && !mask.hasGradient()) {
      this.masked = value.mul(mask);
    }
  }

  /** The current mask, or null when none is set. */
  public NDArray mask() {
    return mask;
  }

  /**
   * Sets a mask of the weight's shape (null removes it). A mask that needs no gradient (a hard
   * mask) is multiplied in once and cached; a soft mask is multiplied in on every read so gradients
   * reach its logits.
   */
  public void setMask(NDArray newMask) {
    if (newMask != null && product != null) {
      throw new IllegalStateException(name + " holds a soft mask's product");
    }
    if (newMask != null
        && !java.util.Arrays.equals(newMask.getShape().getShape(), value.getShape().getShape())) {
      throw new IllegalArgumentException(
          name + ": mask has shape " + newMask.getShape() + ", expected " + value.getShape());
    }
    if (masked != null) {
      masked.close();
    }
    this.mask = newMask;
    this.masked = null;
    if (newMask != null && !newMask.hasGradient()) {
      this.masked = value.mul(newMask);
    }
  }

  /**
   * The masking hook: {@code W} when no mask is set or masks are switched off, else {@code W ⊙ m};
   * always float32. The layer that reads it hands it to {@link #release} after its op.
   */
  public NDArray effective() {
    if (!owner.masksEnabled()) {
      return valueF32();
    }
    if (product != null) {
      return product;
    }
    if (mask == null) {
      return valueF32();
    }
    if (masked != null) {
      return masked;
    }
    // mask first: the product belongs to the mask's (step-scoped) manager
    return mask.mul(value);
  }

  /**
   * Installs a soft mask by its product {@code W ⊙ m}, formed by the caller: {@link #effective()}
   * returns it while masks are enabled, so a product that requires gradient collects the loss's
   * gradient with respect to {@code W ⊙ m} (how {@code erase.SoftMask} trains without keeping m and
   * its graph). Null removes it; the caller owns and frees the product.
   *
   * @throws IllegalStateException when the parameter holds a mask
   */
  public void setMaskedValue(NDArray newProduct) {
    if (newProduct != null) {
      if (mask != null) {
        throw new IllegalStateException(name + " already holds a mask");
      }
      if (!java.util.Arrays.equals(newProduct.getShape().getShape(), value.getShape().getShape())) {
        throw new IllegalArgumentException(
            name
                + ": masked value has shape "
                + newProduct.getShape()
                + ", expected "
                + value.getShape());
      }
    }
    this.product = newProduct;
  }

  /** The product installed by {@link #setMaskedValue}, or null. */
  public NDArray maskedValue() {
    return product;
  }

  public long numel() {
    return value.size();
  }

  @Override
  public String toString() {
    return name + " " + value.getShape();
  }
}

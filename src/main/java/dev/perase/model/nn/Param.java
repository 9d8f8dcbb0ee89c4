package dev.perase.model.nn;

import ai.djl.ndarray.NDArray;

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

  /** The stored weight W (never changed by masking). */
  public NDArray value() {
    return value;
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
   * The masking hook: {@code W} when no mask is set or masks are switched off, else {@code W ⊙ m}.
   */
  public NDArray effective() {
    if (!owner.masksEnabled()) {
      return value;
    }
    if (product != null) {
      return product;
    }
    if (mask == null) {
      return value;
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

package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.FineTunedWeights;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An erased model as the base model plus an edit of its UNet, applied in place and undone on {@link
 * #close()}: a hard mask file ({@link BinaryMask}, through the masking hook) or a file of
 * fine-tuned UNet tensors (ESD, AC, the baselines) under diffusers keys, which replace the stored
 * values. Undoing restores the base model bit for bit.
 */
public final class ModelEdit implements AutoCloseable {
  private final ParamSet unet;
  private final BinaryMask mask;
  private final Map<String, NDArray> replaced; // key → the base value to restore

  private ModelEdit(ParamSet unet, BinaryMask mask, Map<String, NDArray> replaced) {
    this.unet = unet;
    this.mask = mask;
    this.replaced = replaced;
  }

  /** Applies the edit a run asks for. */
  public static ModelEdit of(ParamSet unet, String modelHash, EditFile edit) {
    if (edit instanceof EditFile.Mask m) {
      return mask(unet, modelHash, m.file());
    }
    if (edit instanceof EditFile.Weights w) {
      return weights(unet, modelHash, w.file());
    }
    return none(unet);
  }

  /** No edit: the base model. */
  public static ModelEdit none(ParamSet unet) {
    return new ModelEdit(unet, null, new LinkedHashMap<>());
  }

  /**
   * Applies a hard mask file to the UNet.
   *
   * @throws BadInputException when the file is not a valid mask or was made for another model
   */
  public static ModelEdit mask(ParamSet unet, String modelHash, Path file) {
    BinaryMask m = BinaryMask.read(file);
    m.applyTo(unet, modelHash);
    return new ModelEdit(unet, m, new LinkedHashMap<>());
  }

  /**
   * Replaces UNet parameters by the tensors of a fine-tuned weights file ({@link
   * FineTunedWeights#replace}: full dotted diffusers keys, F32, F16 or BF16; the whole file is
   * checked before anything changes).
   *
   * @throws BadInputException for a mask file, a key the UNet lacks, a shape that differs, an empty
   *     file, or a base model hash in the metadata that is not {@code modelHash}
   */
  public static ModelEdit weights(ParamSet unet, String modelHash, Path file) {
    return new ModelEdit(unet, null, FineTunedWeights.replace(file, unet, modelHash));
  }

  /** Parameters whose values were replaced (0 for a mask or no edit). */
  public int replacedCount() {
    return replaced.size();
  }

  /** The applied mask, or null. */
  public BinaryMask mask() {
    return mask;
  }

  /**
   * Runs {@code body} on the base model and then restores the edit: the masks switched off, or the
   * base values swapped back in for the time of the call (no copy, no file read). For work that
   * alternates between the original and the erased model, prompt by prompt.
   */
  public <T> T withoutEdit(Supplier<T> body) {
    if (mask != null) {
      return unet.withMasksOff(body);
    }
    swapValues();
    try {
      return body.get();
    } finally {
      swapValues();
    }
  }

  /**
   * Exchanges the stored values of the replaced parameters with those kept in {@link #replaced}.
   */
  private void swapValues() {
    Map<String, Param> named = unet.named();
    for (Map.Entry<String, NDArray> e : replaced.entrySet()) {
      Param p = named.get(e.getKey());
      NDArray current = p.value();
      p.setValue(e.getValue());
      e.setValue(current);
    }
  }

  /** Undoes the edit: removes the mask, or puts the base values back and frees the loaded ones. */
  @Override
  public void close() {
    if (mask != null) {
      mask.removeFrom(unet);
    }
    Map<String, Param> named = unet.named();
    for (Map.Entry<String, NDArray> e : replaced.entrySet()) {
      Param p = named.get(e.getKey());
      NDArray loaded = p.value();
      p.setValue(e.getValue());
      loaded.close();
    }
    replaced.clear();
  }
}

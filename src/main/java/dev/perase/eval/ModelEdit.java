package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import dev.perase.erase.BinaryMask;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.io.TensorInfo;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import java.nio.file.Path;
import java.util.Arrays;
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
  /** Metadata key a weights file may carry; when present it must equal the model's hash. */
  public static final String BASE_MODEL_HASH = "base_model_hash";

  private final ParamSet unet;
  private final BinaryMask mask;
  private final Map<String, NDArray> replaced; // key → the base value to restore

  private ModelEdit(ParamSet unet, BinaryMask mask, Map<String, NDArray> replaced) {
    this.unet = unet;
    this.mask = mask;
    this.replaced = replaced;
  }

  /**
   * The edit a run asks for: the mask file when given, else the weights file, else none (callers
   * refuse both at once when parsing options).
   */
  public static ModelEdit of(ParamSet unet, String modelHash, Path mask, Path weights) {
    if (mask != null) {
      return mask(unet, modelHash, mask);
    }
    if (weights != null) {
      return weights(unet, modelHash, weights);
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
   * Replaces UNet parameters by the tensors of a safetensors file (full dotted diffusers keys, e.g.
   * {@code down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight}; F32, F16 or BF16).
   * The whole file is checked before anything changes.
   *
   * @throws BadInputException for a key the UNet lacks, a shape that differs, an empty file, or a
   *     {@value #BASE_MODEL_HASH} in the metadata that is not {@code modelHash}
   */
  public static ModelEdit weights(ParamSet unet, String modelHash, Path file) {
    Map<String, NDArray> replaced = new LinkedHashMap<>();
    try (SafeTensors st = SafeTensors.open(file)) {
      String base = st.metadata().get(BASE_MODEL_HASH);
      if (base != null && !base.equalsIgnoreCase(modelHash)) {
        throw new BadInputException(
            file
                + " holds weights fine-tuned from the model with hash "
                + base
                + ", but this model's hash is "
                + modelHash);
      }
      if (st.keys().isEmpty()) {
        throw new BadInputException(file + " holds no tensors");
      }
      Map<String, Param> named = unet.named();
      for (String k : st.keys()) {
        Param p = named.get(k);
        if (p == null) {
          throw new BadInputException(
              file
                  + ": the tensor '"
                  + k
                  + "' is not a parameter of this UNet (expected diffusers UNet keys such as '"
                  + named.keySet().iterator().next()
                  + "')");
        }
        TensorInfo info = st.info(k);
        if (!info.dtype().isFloat()) {
          throw new BadInputException(
              file + ": the tensor '" + k + "' is " + info.dtype() + ", not a float");
        }
        long[] want = p.value().getShape().getShape();
        if (!Arrays.equals(info.shape(), want)) {
          throw new BadInputException(
              file
                  + ": the tensor '"
                  + k
                  + "' has shape "
                  + info.shapeString()
                  + " but the UNet's has "
                  + Arrays.toString(want));
        }
      }
      for (String k : st.keys()) {
        Param p = named.get(k);
        NDArray base0 = p.value();
        p.setValue(st.load(k, base0.getManager()));
        replaced.put(k, base0);
      }
    }
    return new ModelEdit(unet, null, replaced);
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

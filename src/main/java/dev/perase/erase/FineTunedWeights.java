package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.io.StreamedSafeTensors;
import dev.perase.io.TensorInfo;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The output of the weight-editing methods (ESD, AC, FMN, Pre-/Post-Prune, UCE): only the changed
 * tensors, F32, under their full diffusers UNet keys (so the file opens in diffusers as a partial
 * state dict), with the base model's hash and the run's settings in the metadata ({@code format} =
 * {@code perase-weights}). Loading sets those tensors on the base model ({@code generate
 * --weights}).
 */
public final class FineTunedWeights {
  public static final String FORMAT = "perase-weights";

  private FineTunedWeights() {}

  /** Writes the current values of {@code params} (atomically, one tensor in the heap at a time). */
  public static void write(
      Path path, List<Param> params, String baseModelHash, EraseSettings settings) {
    write(
        path,
        params,
        baseModelHash,
        settings.method(),
        settings.concept(),
        settings.selection(),
        settings.toJson());
  }

  /**
   * Writes the current values of {@code params} with the given metadata ({@code settingsJson}: the
   * run's settings as one JSON object).
   */
  public static void write(
      Path path,
      List<Param> params,
      String baseModelHash,
      EraseMethod method,
      String concept,
      String selection,
      String settingsJson) {
    Map<String, String> md = new LinkedHashMap<>();
    md.put("format", FORMAT);
    md.put("base_model_hash", baseModelHash);
    md.put("method", method.json());
    md.put("concept", concept);
    md.put("selection", selection);
    md.put("perase_version", MaskMetadata.currentVersion());
    md.put("settings", settingsJson);
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    for (Param p : params) {
      tensors.put(p.name(), p.value());
    }
    StreamedSafeTensors.write(path, md, tensors);
  }

  /**
   * Sets every tensor of {@code file} on {@code model} by key, freeing the values it replaces (see
   * {@link #replace} for what is refused). Returns the number of tensors set.
   */
  public static int applyTo(Path file, ParamSet model, String modelHash) {
    Map<String, NDArray> old = replace(file, model, modelHash);
    old.values().forEach(NDArray::close);
    return old.size();
  }

  /**
   * Sets every tensor of {@code file} on {@code model} by key and returns the values it replaced
   * (key → the base value), for the caller to restore or free: the one place a weights file is
   * applied. Refused, before anything changes, when the file records another base model hash than
   * {@code modelHash}, when it is a mask file, when a key is not a parameter of the model, or when
   * a shape or dtype does not match. A file without perase metadata (any partial diffusers UNet
   * state dict) is accepted without the hash check.
   */
  public static Map<String, NDArray> replace(Path file, ParamSet model, String modelHash) {
    try (SafeTensors st = SafeTensors.open(file)) {
      Map<String, String> md = st.metadata();
      if (MaskFile.FORMAT.equals(md.get("format"))) {
        throw new BadInputException(file + " is a perase mask; pass it with --mask, not --weights");
      }
      String base = md.get("base_model_hash");
      if (base != null && !base.equalsIgnoreCase(modelHash)) {
        throw new BadInputException(
            file
                + " was fine-tuned from the base model with hash "
                + base
                + ", but this model's hash is "
                + modelHash
                + "; fine-tuned weights only apply to their base model");
      }
      if (st.keys().isEmpty()) {
        throw new BadInputException(file + " holds no tensors");
      }
      Map<String, Param> named = model.named();
      for (String key : st.keys()) {
        Param p = named.get(key);
        if (p == null) {
          throw new BadInputException(
              file + " holds '" + key + "', which is not a parameter of the model's UNet");
        }
        TensorInfo info = st.info(key);
        long[] shape = p.value().getShape().getShape();
        if (!info.dtype().isFloat()) {
          throw new BadInputException(
              file + ": '" + key + "' is " + info.dtype() + ", expected a floating tensor");
        }
        if (!Arrays.equals(info.shape(), shape)) {
          throw new BadInputException(
              file
                  + ": '"
                  + key
                  + "' has shape "
                  + info.shapeString()
                  + " but the model's is "
                  + Arrays.toString(shape));
        }
      }
      Map<String, NDArray> replaced = new LinkedHashMap<>();
      for (String key : st.keys()) {
        Param p = named.get(key);
        NDArray old = p.value();
        p.setValue(st.load(key, old.getManager()));
        replaced.put(key, old);
      }
      return replaced;
    }
  }
}

package dev.perase.eval;

import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import java.nio.file.Path;
import java.util.Map;

/**
 * Which edit of the base model's UNet a run measures: none (the base model), a hard mask file, or a
 * file of fine-tuned UNet tensors. {@link ModelEdit#of} applies it; run keys and {@code
 * config.json} record it by its {@link #kind} and {@link #putHash}.
 */
public sealed interface EditFile {
  /** The base model, unedited. */
  EditFile NONE = new None();

  /** No edit. */
  record None() implements EditFile {}

  /** A hard mask file ({@code erase.MaskFile}'s format). */
  record Mask(Path file) implements EditFile {
    public Mask {
      if (file == null) {
        throw new IllegalArgumentException("a mask edit needs its file");
      }
    }
  }

  /** A safetensors file of fine-tuned UNet tensors under diffusers keys. */
  record Weights(Path file) implements EditFile {
    public Weights {
      if (file == null) {
        throw new IllegalArgumentException("a weights edit needs its file");
      }
    }
  }

  /**
   * The edit of a command line's {@code --mask} and {@code --weights} (either may be null).
   *
   * @throws BadInputException when both are given
   */
  static EditFile of(Path mask, Path weights) {
    if (mask != null && weights != null) {
      throw new BadInputException(
          "give either --mask or --weights: a run measures one edit of the base model");
    }
    return mask != null ? new Mask(mask) : weights != null ? new Weights(weights) : NONE;
  }

  /** {@code none}, {@code mask} or {@code weights}, as run keys and results name it. */
  default String kind() {
    return this instanceof Mask ? "mask" : this instanceof Weights ? "weights" : "none";
  }

  /** The edit's file, or null for none. */
  default Path path() {
    return this instanceof Mask m ? m.file() : weightsFile();
  }

  /** The mask file, or null. */
  default Path maskFile() {
    return this instanceof Mask m ? m.file() : null;
  }

  /** The weights file, or null. */
  default Path weightsFile() {
    return this instanceof Weights w ? w.file() : null;
  }

  /**
   * Records the edit's file among a run's inputs as {@code mask_sha256} or {@code weights_sha256}
   * (nothing for none).
   */
  default void putHash(Map<String, String> inputs) {
    if (path() != null) {
      inputs.put(kind() + "_sha256", Hashes.sha256File(path()));
    }
  }
}

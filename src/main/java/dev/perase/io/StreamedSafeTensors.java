package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.Map;

/**
 * A safetensors writer for checkpoints and fine-tuned weights whose tensors together exceed the
 * Java heap (a P-ESD checkpoint of SD v1.4's non-cross-attn selection holds logits and two AdamW
 * moments: about 10 GB): the {@link SafeTensorsHeader} is computed from the shapes, then each
 * tensor is copied out of native memory and written one at a time, so the heap holds one tensor at
 * most. Every tensor is stored as F32 (or F16, for model weights); the file is written under a
 * temporary name and renamed into place.
 */
public final class StreamedSafeTensors {
  private StreamedSafeTensors() {}

  /** Writes every tensor as F32. */
  public static void write(Path path, Map<String, String> metadata, Map<String, NDArray> tensors) {
    write(path, metadata, tensors, DType.F32);
  }

  /** Writes every tensor as {@code storage}: F32 or F16. */
  public static void write(
      Path path, Map<String, String> metadata, Map<String, NDArray> tensors, DType storage) {
    if (storage != DType.F32 && storage != DType.F16) {
      throw new IllegalArgumentException("streamed tensors are F32 or F16, not " + storage);
    }
    DataType type = storage == DType.F32 ? DataType.FLOAT32 : DataType.FLOAT16;
    // 1. header: tensors back to back in the given order
    SafeTensorsHeader header = new SafeTensorsHeader(metadata);
    tensors.forEach((name, a) -> header.add(name, storage, a.getShape().getShape()));
    byte[] head = header.bytes();
    // 2. data, one tensor in the heap at a time
    AtomicFile.write(
        path,
        out -> {
          out.write(head);
          for (NDArray a : tensors.values()) {
            if (a.getDataType() == type) {
              out.write(a.toByteArray());
            } else {
              try (NDArray f = a.toType(type, true)) {
                out.write(f.toByteArray());
              }
            }
          }
        });
  }
}

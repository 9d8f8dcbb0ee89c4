package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.perase.io.AtomicFile;
import dev.perase.io.DType;
import dev.perase.io.SafeTensorsHeader;
import java.nio.file.Path;
import java.util.Map;

/**
 * A safetensors writer for checkpoints and fine-tuned weights whose tensors together exceed the
 * Java heap (a P-ESD checkpoint of SD v1.4's non-cross-attn selection holds logits and two AdamW
 * moments: about 10 GB): the {@link SafeTensorsHeader} is computed from the shapes, then each
 * tensor is copied out of native memory and written one at a time, so the heap holds one tensor at
 * most. Every tensor is stored as F32; the file is written under a temporary name and renamed into
 * place.
 */
final class StreamedSafeTensors {
  private StreamedSafeTensors() {}

  static void write(Path path, Map<String, String> metadata, Map<String, NDArray> tensors) {
    // 1. header: F32 tensors back to back in the given order
    SafeTensorsHeader header = new SafeTensorsHeader(metadata);
    tensors.forEach((name, a) -> header.add(name, DType.F32, a.getShape().getShape()));
    byte[] head = header.bytes();
    // 2. data, one tensor in the heap at a time
    AtomicFile.write(
        path,
        out -> {
          out.write(head);
          for (NDArray a : tensors.values()) {
            if (a.getDataType() == DataType.FLOAT32) {
              out.write(a.toByteArray());
            } else {
              try (NDArray f = a.toType(DataType.FLOAT32, true)) {
                out.write(f.toByteArray());
              }
            }
          }
        });
  }
}

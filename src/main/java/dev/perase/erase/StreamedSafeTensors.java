package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.AtomicFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A safetensors writer for checkpoints and fine-tuned weights whose tensors together exceed the
 * Java heap (a P-ESD checkpoint of SD v1.4's non-cross-attn selection holds logits and two AdamW
 * moments: about 10 GB): the header is computed from the shapes, then each tensor is copied out of
 * native memory and written one at a time, so the heap holds one tensor at most. Every tensor is
 * stored as F32; the file is written under a temporary name and renamed into place.
 */
final class StreamedSafeTensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private StreamedSafeTensors() {}

  static void write(Path path, Map<String, String> metadata, Map<String, NDArray> tensors) {
    // 1. header: F32 tensors back to back in the given order
    ObjectNode header = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode md = header.putObject("__metadata__");
      metadata.forEach(md::put);
    }
    long offset = 0;
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        throw new IllegalArgumentException("reserved tensor name __metadata__");
      }
      NDArray a = e.getValue();
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", "F32");
      ArrayNode shape = t.putArray("shape");
      for (long d : a.getShape().getShape()) {
        shape.add(d);
      }
      long bytes = a.size() * 4;
      ArrayNode offsets = t.putArray("data_offsets");
      offsets.add(offset);
      offsets.add(offset + bytes);
      offset += bytes;
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    // 2. data, one tensor in the heap at a time
    AtomicFile.write(
        path,
        out -> {
          out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
          out.write(headerBytes);
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

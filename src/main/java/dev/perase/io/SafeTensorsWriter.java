package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files: header JSON padded with spaces to a multiple of 8 bytes, an optional
 * {@code __metadata__} of strings, tensors in insertion order, written to a temporary name and
 * renamed. Float32 arrays can be stored as F32 or F16.
 */
public final class SafeTensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  private record Entry(DType dtype, long[] shape, byte[] data) {}

  public SafeTensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  public SafeTensorsWriter metadata(Map<String, String> values) {
    metadata.putAll(values);
    return this;
  }

  /** Adds an array; floating arrays are stored as {@code floatType} (F32 or F16). */
  public SafeTensorsWriter put(String name, NDArray array, DType floatType) {
    DataType dt = array.getDataType();
    long[] shape = array.getShape().getShape();
    if (dt.isFloating()) {
      if (floatType == DType.F16) {
        try (NDArray h = array.toType(DataType.FLOAT16, true)) {
          return putRaw(name, DType.F16, shape, h.toByteArray());
        }
      }
      if (floatType != DType.F32) {
        throw new IllegalArgumentException(
            "float tensors are written as F32 or F16, not " + floatType);
      }
      try (NDArray f = array.toType(DataType.FLOAT32, true)) {
        return putRaw(name, DType.F32, shape, f.toByteArray());
      }
    }
    return switch (dt) {
      case INT64 -> putRaw(name, DType.I64, shape, array.toByteArray());
      case INT32 -> putRaw(name, DType.I32, shape, array.toByteArray());
      case UINT8 -> putRaw(name, DType.U8, shape, array.toByteArray());
      case BOOLEAN -> putRaw(name, DType.BOOL, shape, array.toByteArray());
      default ->
          throw new IllegalArgumentException("cannot write " + dt + " tensor '" + name + "'");
    };
  }

  public SafeTensorsWriter put(String name, NDArray array) {
    return put(name, array, DType.F32);
  }

  public SafeTensorsWriter putFloats(String name, long[] shape, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return putRaw(name, DType.F32, shape, b.array());
  }

  public SafeTensorsWriter putLongs(String name, long[] shape, long[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return putRaw(name, DType.I64, shape, b.array());
  }

  public SafeTensorsWriter putInts(String name, long[] shape, int[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(values);
    return putRaw(name, DType.I32, shape, b.array());
  }

  /** Adds little-endian bytes as they are. */
  public SafeTensorsWriter putRaw(String name, DType dtype, long[] shape, byte[] data) {
    if (name.equals("__metadata__") || entries.containsKey(name)) {
      throw new IllegalArgumentException("duplicate or reserved tensor name '" + name + "'");
    }
    long numel = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' has a negative dimension " + java.util.Arrays.toString(shape));
      }
      numel *= d;
    }
    if (numel * dtype.bytes != data.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + data.length + " bytes for " + numel + " × " + dtype);
    }
    entries.put(name, new Entry(dtype, shape.clone(), data));
    return this;
  }

  /** Writes the file under a temporary name and renames it to {@code path}. */
  public void write(Path path) {
    ObjectNode header = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode m = header.putObject("__metadata__");
      metadata.forEach(m::put);
    }
    long offset = 0;
    List<byte[]> blobs = new ArrayList<>();
    for (Map.Entry<String, Entry> e : entries.entrySet()) {
      Entry en = e.getValue();
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", en.dtype().name());
      var sh = t.putArray("shape");
      for (long d : en.shape()) {
        sh.add(d);
      }
      var off = t.putArray("data_offsets");
      off.add(offset);
      off.add(offset + en.data().length);
      offset += en.data().length;
      blobs.add(en.data());
    }
    byte[] hj;
    try {
      hj = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    int padded = (hj.length + 7) / 8 * 8;
    byte[] headerBytes = new byte[padded];
    java.util.Arrays.fill(headerBytes, (byte) ' ');
    System.arraycopy(hj, 0, headerBytes, 0, hj.length);
    AtomicFile.write(
        path,
        out -> {
          ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
          len.putLong(padded);
          out.write(len.array());
          out.write(headerBytes);
          for (byte[] b : blobs) {
            out.write(b);
          }
        });
  }
}

package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes safetensors files: a {@link SafeTensorsHeader} with an optional {@code __metadata__} of
 * strings, tensors in insertion order, written to a temporary name and renamed. Float32 arrays can
 * be stored as F32 or F16.
 */
public final class SafeTensorsWriter {
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
    SafeTensorsHeader header = new SafeTensorsHeader(metadata);
    entries.forEach((name, e) -> header.add(name, e.dtype(), e.shape()));
    byte[] head = header.bytes();
    AtomicFile.write(
        path,
        out -> {
          out.write(head);
          for (Entry e : entries.values()) {
            out.write(e.data());
          }
        });
  }
}

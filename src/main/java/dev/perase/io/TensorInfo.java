package dev.perase.io;

/**
 * One tensor's entry in a safetensors header: dtype, shape and byte span relative to the start of
 * the data area.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  public String shapeString() {
    return java.util.Arrays.toString(shape);
  }
}

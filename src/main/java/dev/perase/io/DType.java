package dev.perase.io;

/**
 * The safetensors dtypes perase reads and writes. Floating types are widened (F64: narrowed) to
 * float32 on load; {@link SafeTensors#doubles} reads F64 at full precision (reference sums).
 */
public enum DType {
  F64(8),
  F32(4),
  F16(2),
  BF16(2),
  I64(8),
  I32(4),
  U8(1),
  BOOL(1);

  public final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  public boolean isFloat() {
    return this == F64 || this == F32 || this == F16 || this == BF16;
  }

  /** The dtype for a safetensors header name, or a bad-input error naming the tensor. */
  static DType parse(String name, String tensor) {
    for (DType d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    throw new BadInputException(
        "tensor '"
            + tensor
            + "' has dtype '"
            + name
            + "', which perase cannot read"
            + " (supported: F64, F32, F16, BF16, I64, I32, U8, BOOL)");
  }
}

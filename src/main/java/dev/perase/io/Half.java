package dev.perase.io;

/** IEEE 754 half-precision conversion (Java 17 has no Float.float16ToFloat). */
public final class Half {
  private Half() {}

  public static float toFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant / 1024f / 16384f; // subnormal: mant * 2^-24
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Rounds a float to the nearest half (ties to even), as torch's {@code .half()} does. */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs >= 0x7f800000) { // inf stays inf; NaN stays a quiet NaN
      return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0));
    }
    if (abs >= 0x477ff000) { // |f| >= 65520 (halfway past the largest half 65504): inf
      return (short) (sign | 0x7c00);
    }
    int exp = abs >>> 23;
    if (exp < 113) { // |f| < 2^-14: a subnormal half, in units of 2^-24
      int shift = 126 - exp; // value = m · 2^(exp-150) = (m >> shift) units of 2^-24
      if (exp == 0 || shift > 24) {
        return (short) sign; // below half of the smallest subnormal 2^-24 (ties go to 0, even)
      }
      int m = (abs & 0x7fffff) | 0x800000;
      int h = m >>> shift;
      int rest = m & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rest > halfway || (rest == halfway && (h & 1) == 1)) {
        h++; // may carry into the smallest normal 0x0400, which is the right encoding
      }
      return (short) (sign | h);
    }
    int h = ((exp - 112) << 10) | ((abs & 0x7fffff) >>> 13);
    int rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
      h++; // a carry out of the mantissa correctly bumps the exponent
    }
    return (short) (sign | h);
  }

  /** {@code f} rounded to half precision and widened back. */
  static float round(float f) {
    return toFloat(fromFloat(f));
  }
}

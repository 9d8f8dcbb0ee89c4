package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Locale;

/**
 * A 95 % confidence interval {@code [lo, hi]}, written to JSON as a two-number array. Made by the
 * Wilson score interval of a proportion ({@link #wilson}), Newcombe's interval of a difference of
 * two proportions ({@link #difference}) or a bootstrap ({@link FrechetDistance#bootstrap}).
 */
@JsonFormat(shape = JsonFormat.Shape.ARRAY)
@JsonPropertyOrder({"lo", "hi"})
public record Interval(double lo, double hi) {
  /** z of a two-sided 95 % interval: Φ⁻¹(0.975). */
  public static final double Z95 = 1.959963984540054;

  public Interval {
    if (!(lo <= hi)) {
      throw new IllegalArgumentException("an interval needs lo ≤ hi, got [" + lo + ", " + hi + "]");
    }
  }

  /**
   * The Wilson score interval (Wilson 1927) of a proportion {@code k / n} at 95 %:
   *
   * <pre>
   *   p = k/n,   centre = (p + z²/2n) / (1 + z²/n),
   *   half = z / (1 + z²/n) · √(p(1 − p)/n + z²/4n²)
   * </pre>
   *
   * Unlike the normal approximation p ± z√(p(1−p)/n) it stays inside [0, 1] and is not empty at k =
   * 0 or k = n (0 of 3 gives [0, 0.56], not [0, 0]). With n = 0 nothing is known: [0, 1].
   */
  public static Interval wilson(int k, int n) {
    if (n < 0 || k < 0 || k > n) {
      throw new IllegalArgumentException(k + " of " + n);
    }
    if (n == 0) {
      return new Interval(0, 1);
    }
    double p = (double) k / n;
    double z2 = Z95 * Z95;
    double denominator = 1 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denominator;
    double half = Z95 / denominator * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
    // exact ends where the formula only rounds to them
    double lo = k == 0 ? 0 : Math.max(0, centre - half);
    double hi = k == n ? 1 : Math.min(1, centre + half);
    return new Interval(lo, hi);
  }

  /**
   * The 95 % interval of a difference of two independent proportions k₁/n₁ − k₂/n₂ by Newcombe's
   * hybrid score method (Newcombe 1998, method 10), built from the two Wilson intervals [l₁, u₁]
   * and [l₂, u₂]:
   *
   * <pre>
   *   d = p₁ − p₂,  lo = d − √((p₁ − l₁)² + (u₂ − p₂)²),  hi = d + √((u₁ − p₁)² + (p₂ − l₂)²)
   * </pre>
   *
   * An interval above 0 says p₁ > p₂ at the 5 % level; two Wilson intervals that merely overlap do
   * not say the opposite. Both n must be ≥ 1.
   */
  public static Interval difference(int k1, int n1, int k2, int n2) {
    if (n1 < 1 || n2 < 1) {
      throw new IllegalArgumentException("a difference of proportions needs n ≥ 1 on both sides");
    }
    Interval a = wilson(k1, n1);
    Interval b = wilson(k2, n2);
    double p1 = (double) k1 / n1;
    double p2 = (double) k2 / n2;
    double d = p1 - p2;
    double lo = d - Math.hypot(p1 - a.lo, b.hi - p2);
    double hi = d + Math.hypot(a.hi - p1, p2 - b.lo);
    return new Interval(Math.max(-1, lo), Math.min(1, hi));
  }

  /** Whether {@code x} lies in the interval, ends included. */
  public boolean contains(double x) {
    return lo <= x && x <= hi;
  }

  /** The interval as {@code [0.64, 0.95]} with {@code decimals} decimals. */
  public String format(int decimals) {
    String f = "%." + decimals + "f";
    return String.format(Locale.ROOT, "[" + f + ", " + f + "]", lo, hi);
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.perase.io.BadInputException;
import java.util.Locale;

/**
 * A 95 % interval shown beside a number of the report, {@code [lo, hi]} (a CER's Wilson interval, a
 * Fréchet distance's bootstrap interval); in {@code report.json} a two-number array.
 */
@JsonFormat(shape = JsonFormat.Shape.ARRAY)
@JsonPropertyOrder({"lo", "hi"})
public record Bounds(double lo, double hi) {
  public Bounds {
    if (!(lo <= hi) || !Double.isFinite(lo) || !Double.isFinite(hi)) {
      throw new BadInputException("an interval needs finite lo ≤ hi, got [" + lo + ", " + hi + "]");
    }
  }

  /** {@code [0.64, 0.95]}, each end with {@code decimals} decimals. */
  public String text(int decimals) {
    String f = "%." + decimals + "f";
    return String.format(Locale.ROOT, "[" + f + ", " + f + "]", lo, hi);
  }
}

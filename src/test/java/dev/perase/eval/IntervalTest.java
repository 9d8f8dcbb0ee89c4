package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.Json;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wilson and Newcombe intervals against published values (Newcombe 1998, Tables I and II; the
 * Wilson ends as R's {@code prop.test(correct = FALSE)} and statsmodels' {@code
 * proportion_confint(method="wilson")} give them), and the JSON form of a CER's interval.
 */
class IntervalTest {
  private static final double TOL = 5e-5;

  private static void assertInterval(double lo, double hi, Interval actual) {
    assertEquals(lo, actual.lo(), TOL, "lo of " + actual);
    assertEquals(hi, actual.hi(), TOL, "hi of " + actual);
  }

  @Test
  void wilsonIntervalsMatchPublishedValues() {
    assertInterval(0, 0.5615, Interval.wilson(0, 3));
    assertInterval(0.4385, 1, Interval.wilson(3, 3));
    assertInterval(0.2993, 0.7007, Interval.wilson(10, 20));
    // Newcombe 1998, Table I, method 3: 81/263, 15/148, 0/20, 1/29
    assertInterval(0.2553, 0.3662, Interval.wilson(81, 263));
    assertInterval(0.0624, 0.1605, Interval.wilson(15, 148));
    assertInterval(0, 0.1611, Interval.wilson(0, 20));
    assertInterval(0.0061, 0.1718, Interval.wilson(1, 29));
  }

  @Test
  void wilsonEndsAreExactAtNoneAndAllAndNothingIsKnownWithoutPrompts() {
    assertEquals(0.0, Interval.wilson(0, 25).lo());
    assertEquals(1.0, Interval.wilson(25, 25).hi());
    assertEquals(new Interval(0, 1), Interval.wilson(0, 0));
    assertThrows(IllegalArgumentException.class, () -> Interval.wilson(4, 3));
    assertThrows(IllegalArgumentException.class, () -> Interval.wilson(-1, 3));
  }

  @Test
  void newcombeDifferenceMatchesHisTableII() {
    // method 10 (hybrid score): 56/70 − 48/80, 9/10 − 3/10, 5/56 − 0/29
    assertInterval(0.0524, 0.3339, Interval.difference(56, 70, 48, 80));
    assertInterval(0.1705, 0.8090, Interval.difference(9, 10, 3, 10));
    assertInterval(-0.0381, 0.1926, Interval.difference(5, 56, 0, 29));
  }

  @Test
  void aCerIsWrittenWithItsIntervalAndReadsBack(@TempDir Path tmp) {
    ConceptErasureRate cer = new ConceptErasureRate(20, 3, 0.85);
    assertInterval(0.6396, 0.9476, cer.interval());
    Path file = tmp.resolve("cer.json");
    Json.write(file, cer);
    String json = Json.MAPPER.valueToTree(cer).toString();
    assertTrue(json.contains("\"cer_interval\":[0.63958"), json);
    assertEquals(cer, Json.read(file, ConceptErasureRate.class));
    assertEquals("[0.64, 0.95]", cer.interval().format(2));
  }
}

package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perase.io.BadInputException;
import org.junit.jupiter.api.Test;

/** {@code bench --throughput}: batch sizes, or none (an empty value or the word). */
class BenchThroughputOptionTest {
  @Test
  void batchSizesOrNone() {
    assertArrayEquals(new int[] {1, 2, 32}, BenchCommand.batches("1, 2,32"));
    assertArrayEquals(new int[0], BenchCommand.batches(""));
    assertArrayEquals(new int[0], BenchCommand.batches("none"));
    assertThrows(BadInputException.class, () -> BenchCommand.batches("0"));
    assertThrows(BadInputException.class, () -> BenchCommand.batches("2,x"));
  }
}

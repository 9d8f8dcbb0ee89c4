package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perase.io.BadInputException;
import dev.perase.scheduler.DdimScheduler;
import org.junit.jupiter.api.Test;

/** The attempts' timesteps: the paper's 10 attempts 5 of 50 steps apart, scaled to other N. */
class AttemptScheduleTest {
  @Test
  void fiftyStepsGiveTenAttemptsFiveStepsApart() {
    AttemptSchedule s = AttemptSchedule.of(DdimScheduler.stableDiffusion(), 50, 10);
    assertArrayEquals(new int[] {47, 42, 37, 32, 27, 22, 17, 12, 7, 2}, s.ddimIndices());
    assertArrayEquals(new int[] {41, 141, 241, 341, 441, 541, 641, 741, 841, 941}, s.timesteps());
  }

  @Test
  void fewerStepsKeepTheNoiseLevels() {
    DdimScheduler ddim = DdimScheduler.stableDiffusion();
    assertArrayEquals(
        new int[] {51, 151, 251, 351, 451, 551, 651, 751, 851, 951},
        AttemptSchedule.of(ddim, 20, 10).timesteps());
    assertArrayEquals(
        new int[] {1, 101, 201, 301, 401, 501, 601, 701, 801, 901},
        AttemptSchedule.of(ddim, 10, 10).timesteps());
    // more attempts than steps: one attempt per step
    AttemptSchedule five = AttemptSchedule.of(ddim, 5, 10);
    assertEquals(5, five.size());
    assertArrayEquals(new int[] {4, 3, 2, 1, 0}, five.ddimIndices());
    // two attempts over 50 steps: the middles of the two halves
    assertArrayEquals(new int[] {37, 12}, AttemptSchedule.of(ddim, 50, 2).ddimIndices());
    assertThrows(BadInputException.class, () -> AttemptSchedule.of(ddim, 50, 0));
  }
}

package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import dev.perase.pipeline.StableDiffusion;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code bench --attack} on the tiny fixture: with a detector that flags every image, both the
 * batched run and the attempt-by-attempt one still make every attempt (no early stop), so they do
 * the same work.
 */
@Tag("slow")
class AttackBenchTest {
  @Test
  void bothRunsMakeEveryAttemptEvenWhenEachImageIsFlagged() {
    AttackSettings s =
        PromptAttackTest.settings(AttackMethod.UNLEARNDIFF, Relaxation.SAMPLED, List.of(), 3)
            .withBatch(2);
    PromptRow row = new PromptRow(0, "a photo of a cat", 7, 7.5);
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      ScriptedDetector flagsAll = new ScriptedDetector(1);
      AttackBench.Result r = AttackBench.run(sd, flagsAll, s, row, 2, AttackBench.Listener.NONE);
      assertEquals(2, r.batched().size());
      assertEquals(2, r.single().size());
      for (AttackBench.Run run : r.batched()) {
        assertEquals(2, run.batch());
        assertEquals(3, run.attempts());
      }
      for (AttackBench.Run run : r.single()) {
        assertEquals(1, run.batch());
        assertEquals(3, run.attempts());
      }
      assertEquals(4 * 3, flagsAll.calls(), "every attempt of every run judged");
      assertTrue(r.speedUp() > 0);
      assertTrue(r.describe().contains("batch 2 vs batch 1"), r.describe());
      assertThrows(
          BadInputException.class,
          () -> AttackBench.run(sd, flagsAll, s.withBatch(1), row, 1, AttackBench.Listener.NONE));
    }
  }
}

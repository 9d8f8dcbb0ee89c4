package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.PromptFollowing;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The paper's claim decided by Newcombe's interval of the CER difference under attack. */
class PaperClaimTest {
  private static ConceptErasureRate cer(int unflagged, int n) {
    return new ConceptErasureRate(n, n - unflagged, unflagged / (double) n);
  }

  private static PaperClaim claim(ConceptErasureRate pruned, ConceptErasureRate fineTuned) {
    return PaperClaim.of("p-esd", "esd", "unlearndiff", pruned, fineTuned, null, null);
  }

  @Test
  void threePromptsDecideOnlyAllAgainstNone() {
    assertEquals(PaperClaim.HOLDS, claim(cer(3, 3), cer(0, 3)).verdict());
    assertEquals(PaperClaim.NOT_DECIDED, claim(cer(2, 3), cer(0, 3)).verdict());
    assertEquals(PaperClaim.NOT_DECIDED, claim(cer(3, 3), cer(3, 3)).verdict());
    assertEquals(PaperClaim.DOES_NOT_HOLD, claim(cer(0, 3), cer(3, 3)).verdict());
  }

  @Test
  void twoHundredPromptsDecideAModestDifference() {
    PaperClaim c = claim(cer(170, 200), cer(140, 200));
    assertEquals(PaperClaim.HOLDS, c.verdict());
    assertEquals(0.15, c.difference(), 1e-12);
    assertTrue(c.interval().lo() > 0 && c.interval().hi() < 0.3, c.interval().toString());
    assertEquals(
        "P-ESD vs ESD under UnlearnDiff: holds (CER 0.85 vs 0.70, difference +0.15, 95 % interval "
            + c.interval().format(2)
            + ").",
        c.sentence());
  }

  @Test
  void aModelThatStoppedFollowingPromptsCarriesACaveat() {
    PromptFollowing collapsed =
        new PromptFollowing(
            200,
            List.of(
                new PromptFollowing.Agreement("shape", 200, 20),
                new PromptFollowing.Agreement("color", 200, 150)));
    PromptFollowing fine =
        new PromptFollowing(
            200,
            List.of(
                new PromptFollowing.Agreement("shape", 200, 170),
                new PromptFollowing.Agreement("color", 200, 152)));
    PaperClaim c =
        PaperClaim.of("p-esd", "esd", "unlearndiff", cer(3, 3), cer(0, 3), collapsed, fine);
    assertEquals(PaperClaim.HOLDS, c.verdict());
    assertEquals(
        "p-esd follows the retain prompts less often than esd (shape 0.10 vs 0.85)", c.caveat());
    assertTrue(c.sentence().endsWith("; but " + c.caveat() + "."), c.sentence());
    assertNull(PaperClaim.of("p-esd", "esd", "p4d", cer(1, 3), cer(1, 3), fine, fine).caveat());
  }
}

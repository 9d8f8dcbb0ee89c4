package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.eval.EditFile;
import dev.perase.io.PromptRow;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The attempt loop on the tiny fixture model (32×32 images, 4 DDIM steps, 2 attempts of 3
 * iterations): the relaxed rows stay on the simplex after every update, the projected tokens are
 * valid and allowed, the attacked prompt is laid out as [start, adversarial, prompt, end], and the
 * loop stops at the first flagged image.
 */
@Tag("slow")
class PromptAttackTest {
  static final int SIZE = 32;
  static final int STEPS = 4;
  private static final double SUM_TOL = 1e-5;

  private static StableDiffusion sd;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  static AttackSettings settings(
      AttackMethod method, Relaxation relaxation, List<String> excluded, int attempts) {
    return new AttackSettings(
        method,
        Path.of("unused.csv"),
        EditFile.NONE,
        null,
        null,
        "cat",
        null,
        3,
        3,
        STEPS,
        attempts,
        AttackSettings.DEFAULT_LEARNING_RATE,
        AttackSettings.DEFAULT_WEIGHT_DECAY,
        relaxation,
        excluded,
        SIZE,
        Path.of("unused"),
        "test");
  }

  /**
   * Runs the attempts of one prompt with {@code detector}, checking the rows after every update.
   */
  private static PromptAttack.Outcome attack(
      AttackSettings s, PromptRow row, ScriptedDetector detector, List<float[]> seenRows) {
    AttemptSchedule schedule = AttemptSchedule.of(sd.scheduler(), s.steps(), s.attempts());
    boolean[] allowed = AdversarialTokens.allowedTokens(sd.tokenizer(), s.excludedWords());
    PromptLayout layout = new PromptLayout(sd.tokenizer(), row.prompt(), s.tokens());
    try (NDManager m = Torch.newManager()) {
      Reference ref = Reference.compute(sd, row, schedule, SIZE, s.method() == AttackMethod.P4D, m);
      AttackObjective objective = AttackObjective.of(s.method(), sd, ref, schedule, row.seed());
      return PromptAttack.run(
          sd,
          detector,
          objective,
          layout,
          schedule,
          row,
          SIZE,
          allowed,
          s,
          "p/",
          new PromptAttack.Observer() {
            @Override
            public void iteration(
                int attempt, int iteration, float loss, AdversarialTokens tokens) {
              assertTrue(Float.isFinite(loss) && loss >= 0, "loss " + loss);
              seenRows.addAll(List.of(tokens.rowValues()));
            }

            @Override
            public void attempt(AttemptResult result, NDArray image) {
              assertEquals(List.of(1L, 3L, (long) SIZE, (long) SIZE), shape(image));
            }
          });
    }
  }

  private static List<Long> shape(NDArray a) {
    List<Long> s = new ArrayList<>();
    for (long d : a.getShape().getShape()) {
      s.add(d);
    }
    return s;
  }

  @Test
  void rowsStayOnTheSimplexAndProjectToValidAllowedTokens() {
    CLIPTokenizer tok = sd.tokenizer();
    PromptRow row = new PromptRow(3, "a photo of a cat", 5, 7.5);
    long cat = tok.idOf("cat</w>");
    for (AttackMethod method : AttackMethod.values()) {
      for (Relaxation relaxation : Relaxation.values()) {
        String what = method.label() + "/" + relaxation.label();
        List<float[]> seen = new ArrayList<>();
        AttackSettings s = settings(method, relaxation, List.of("cat"), 2);
        PromptAttack.Outcome o = attack(s, row, new ScriptedDetector(Integer.MAX_VALUE), seen);
        assertEquals(2 * 3 * 3, seen.size(), what + ": rows seen (attempts × iterations × k)");
        boolean moved = false;
        for (float[] r : seen) {
          double sum = 0;
          for (int v = 0; v < r.length; v++) {
            assertTrue(r[v] >= 0, what + ": negative weight");
            sum += r[v];
          }
          assertEquals(1.0, sum, SUM_TOL, what + ": row sum");
          assertEquals(0f, r[(int) tok.bosId()], what + ": start token");
          assertEquals(0f, r[(int) tok.eosId()], what + ": end token");
          assertEquals(0f, r[(int) cat], what + ": excluded concept word");
          float max = 0;
          float min = 1;
          for (int v = 0; v < r.length; v++) {
            if (v != tok.bosId() && v != tok.eosId() && v != cat) {
              max = Math.max(max, r[v]);
              min = Math.min(min, r[v]);
            }
          }
          moved |= max - min > 1e-6;
        }
        assertTrue(moved, what + ": the rows never left the uniform start");

        assertFalse(o.broken(), what);
        assertEquals(2, o.attempts().size(), what);
        long[] promptIds = tok.encodeNoPad(row.prompt());
        for (AttemptResult a : o.attempts()) {
          assertEquals(3, a.losses().size());
          assertEquals(3, a.adversarialIds().size());
          for (long id : a.adversarialIds()) {
            assertTrue(id >= 0 && id < tok.vocabSize(), what + ": id " + id);
            assertTrue(
                id != tok.bosId() && id != tok.eosId() && id != tok.padId() && id != cat,
                what + ": excluded id " + id);
            assertEquals(
                tok.tokenOf(id), a.adversarialTokens().get(a.adversarialIds().indexOf(id)));
          }
          // [start, a1 a2 a3, prompt tokens, end]
          List<Long> ids = a.promptIds();
          assertEquals(promptIds.length + 3, ids.size());
          assertEquals(tok.bosId(), ids.get(0));
          assertEquals(a.adversarialIds(), ids.subList(1, 4));
          for (int i = 1; i < promptIds.length; i++) {
            assertEquals(promptIds[i], ids.get(3 + i));
          }
          assertTrue(a.adversarialPrompt().endsWith("a photo of a cat"), a.adversarialPrompt());
          assertEquals("p/attempt_0" + a.attempt() + ".png", a.image());
        }
        int[] ts = AttemptSchedule.of(sd.scheduler(), STEPS, 2).timesteps();
        assertEquals(ts[0], o.attempts().get(0).timestep());
        assertEquals(ts[1], o.attempts().get(1).timestep());
      }
    }
  }

  @Test
  void theAttemptsStopAtTheFirstFlaggedImage() {
    ScriptedDetector detector = new ScriptedDetector(2); // the second image it sees
    PromptAttack.Outcome o =
        attack(
            settings(AttackMethod.UNLEARNDIFF, Relaxation.SAMPLED, List.of(), 4),
            new PromptRow(0, "a cat", 1, 7.5),
            detector,
            new ArrayList<>());
    assertTrue(o.broken());
    assertEquals(2, o.attempts().size());
    assertFalse(o.attempts().get(0).flagged());
    assertTrue(o.attempts().get(1).flagged());
    assertEquals(2, detector.calls());
    assertEquals(0.9, o.attempts().get(1).conceptScore(), 1e-12);
    assertEquals("cat", o.attempts().get(1).topLabels().get("concept"));
    assertTrue(o.optimisationSeconds() > 0 && o.generationSeconds() > 0);
  }
}

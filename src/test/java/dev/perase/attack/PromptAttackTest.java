package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.eval.EditFile;
import dev.perase.io.PromptRow;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    return attack(s, row, detector, seenRows, new HashMap<>());
  }

  /** As above; also the rows after each update by "attempt/iteration". */
  private static PromptAttack.Outcome attack(
      AttackSettings s,
      PromptRow row,
      ScriptedDetector detector,
      List<float[]> seenRows,
      Map<String, float[][]> rowsByStep) {
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
              rowsByStep.put(attempt + "/" + iteration, tokens.rowValues());
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

  /**
   * Issue 16: the attempts of a prompt evaluated together (one text-encoder and one UNet call for
   * all, each attempt its own timestep, noise and tokens) give each attempt the loss and the
   * gradient on its own tokens that it gets alone, within float rounding, for both attacks and both
   * relaxations. (Whole runs are not compared token for token: Adam's first steps move every weight
   * by about ±lr whatever the size of its gradient, so the rounding of gradients near zero grows
   * into different near-ties of the argmax; see attemptsTogetherRunTheScheduleAsAlone.) Before
   * {@code Ops.conv2d} padded conv_out's filters in a backward pass, the gradients were 76 % of the
   * largest apart (README, Known problems).
   */
  @Test
  void attemptsTogetherGetTheLossAndGradientEachGetsAlone() {
    PromptRow row = new PromptRow(3, "a photo of a cat", 5, 7.5);
    int[] all = {0, 1, 2};
    for (AttackMethod method : AttackMethod.values()) {
      for (Relaxation relaxation : Relaxation.values()) {
        String what = method.label() + "/" + relaxation.label();
        AttackSettings s = settings(method, relaxation, List.of("cat"), 3);
        AttemptSchedule schedule = AttemptSchedule.of(sd.scheduler(), STEPS, 3);
        boolean[] allowed = AdversarialTokens.allowedTokens(sd.tokenizer(), s.excludedWords());
        PromptLayout layout = new PromptLayout(sd.tokenizer(), row.prompt(), s.tokens());
        try (NDManager m = Torch.newManager()) {
          Reference ref = Reference.compute(sd, row, schedule, SIZE, method == AttackMethod.P4D, m);
          AttackObjective objective = AttackObjective.of(method, sd, ref, schedule, row.seed());
          LossAndGradient together = lossAndGradient(objective, layout, allowed, s, row, all);
          for (int j : all) {
            LossAndGradient alone =
                lossAndGradient(objective, layout, allowed, s, row, new int[] {j});
            // P4D's loss is a mean of squares of nearly equal predictions: compare it on the
            // scale of the squared predictions' rounding, not relative to itself
            double scale = method == AttackMethod.P4D ? 1e-4 : together.losses[j];
            assertEquals(alone.losses[0], together.losses[j], 1e-5 * scale, what + " loss " + j);
            double rel =
                maxAbsDiff(alone.gradients[0], together.gradients[j]) / maxAbs(alone.gradients[0]);
            assertTrue(rel <= 1e-4, what + " gradient " + j + ": " + rel);
          }
          assertTrue(
              maxAbsDiff(together.gradients[0], together.gradients[1])
                  > 1e-3 * maxAbs(together.gradients[0]),
              what + ": two attempts got one gradient");
        }
      }
    }
  }

  private record LossAndGradient(float[] losses, float[][] gradients) {}

  /** The first iteration's losses and the gradients on fresh tokens of {@code attempts}. */
  private static LossAndGradient lossAndGradient(
      AttackObjective objective,
      PromptLayout layout,
      boolean[] allowed,
      AttackSettings s,
      PromptRow row,
      int[] attempts) {
    try (NDManager manager = sd.manager().newSubManager()) {
      CLIPTextModel te = sd.textEncoder();
      AdversarialTokens[] tokens = new AdversarialTokens[attempts.length];
      NDList embeds = new NDList();
      for (int j = 0; j < attempts.length; j++) {
        tokens[j] =
            new AdversarialTokens(
                layout.k(), allowed, s.relaxation(), s.learningRate(), s.weightDecay(), manager);
      }
      NDList persistent = new NDList();
      persistent.addAll(sd.unet().params().arrays());
      persistent.addAll(te.params().arrays());
      persistent.addAll(objective.arrays());
      for (AdversarialTokens t : tokens) {
        persistent.add(t.rows());
      }
      try (StepScope scope = StepScope.open(manager, persistent);
          GradientCollector gc = Torch.engine().newGradientCollector()) {
        NDManager sm = scope.manager();
        for (int j = 0; j < attempts.length; j++) {
          NDArray input =
              tokens[j].input(Seeds.derive(row.seed(), Seeds.SAMPLE, attempts[j], 0), sm);
          NDArray adv = te.tokenEmbedding().forwardSoft(input);
          embeds.add(layout.embeds(adv, te));
        }
        // (NDArrays.concat of one array returns a copy cut off from the gradient)
        NDArray stacked = embeds.size() == 1 ? embeds.get(0) : NDArrays.concat(embeds, 0);
        NDArray condition = te.forwardEmbeds(stacked);
        NDArray l = objective.losses(condition, attempts, 0, sm);
        float[] losses = l.toFloatArray();
        gc.backward(l.sum());
        float[][] gradients = new float[attempts.length][];
        for (int j = 0; j < attempts.length; j++) {
          gradients[j] = tokens[j].rows().getGradient().toFloatArray();
        }
        return new LossAndGradient(losses, gradients);
      }
    }
  }

  /**
   * The loop with its attempts together runs the same schedule as attempt by attempt: the same
   * attempts at the same timesteps, the same first-iteration losses within float rounding, and the
   * same image paths; and it stops at the first flagged attempt in schedule order.
   */
  @Test
  void attemptsTogetherRunTheScheduleAsAlone() {
    PromptRow row = new PromptRow(3, "a photo of a cat", 5, 7.5);
    AttackSettings s = settings(AttackMethod.UNLEARNDIFF, Relaxation.SAMPLED, List.of("cat"), 3);
    PromptAttack.Outcome alone =
        attack(s.withBatch(1), row, new ScriptedDetector(Integer.MAX_VALUE), new ArrayList<>());
    PromptAttack.Outcome together =
        attack(s.withBatch(3), row, new ScriptedDetector(Integer.MAX_VALUE), new ArrayList<>());
    assertEquals(3, alone.attempts().size());
    assertEquals(3, together.attempts().size());
    for (int j = 0; j < 3; j++) {
      AttemptResult x = alone.attempts().get(j);
      AttemptResult y = together.attempts().get(j);
      assertEquals(x.attempt(), y.attempt());
      assertEquals(x.timestep(), y.timestep());
      assertEquals(x.image(), y.image());
      assertEquals(x.losses().size(), y.losses().size());
      double a = x.losses().get(0);
      assertEquals(a, y.losses().get(0), 1e-5 * a, "first loss of attempt " + j);
    }
    ScriptedDetector second = new ScriptedDetector(2);
    PromptAttack.Outcome stopped = attack(s.withBatch(3), row, second, new ArrayList<>());
    assertEquals(2, stopped.attempts().size());
    assertTrue(stopped.broken());
    assertEquals(2, second.calls(), "the third image is not judged");
  }

  private static double maxAbs(float[] a) {
    double d = 0;
    for (float v : a) {
      d = Math.max(d, Math.abs(v));
    }
    return d;
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @Test
  void batchesSplitTheAttemptsEvenlyInScheduleOrder() {
    assertEquals(List.of(5, 5), sizes(PromptAttack.batches(10, 8)));
    assertEquals(List.of(10), sizes(PromptAttack.batches(10, 10)));
    assertEquals(List.of(2, 2, 3, 3), sizes(PromptAttack.batches(10, 3)));
    assertEquals(List.of(1, 1, 1), sizes(PromptAttack.batches(3, 1)));
    int next = 0;
    for (int[] b : PromptAttack.batches(10, 4)) {
      for (int a : b) {
        assertEquals(next++, a);
      }
    }
    assertEquals(10, next);
  }

  private static List<Integer> sizes(List<int[]> batches) {
    return batches.stream().map(b -> b.length).toList();
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

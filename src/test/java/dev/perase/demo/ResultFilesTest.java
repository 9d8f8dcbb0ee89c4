package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.attack.AttemptResult;
import dev.perase.attack.PromptAttackResult;
import dev.perase.attack.Relaxation;
import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Evaluation;
import dev.perase.eval.Interval;
import dev.perase.io.Json;
import dev.perase.scheduler.Sampler;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The result files a study reads back ({@link StudyResults}, {@link StudyReportBuilder}) read into
 * the records that wrote them, field for field.
 */
class ResultFilesTest {
  @TempDir Path tmp;

  @Test
  void anEvaluationResultReadsBackAsWritten() {
    Evaluation.Result written =
        new Evaluation.Result(
            "star",
            ConceptRule.TOP1,
            "world",
            "mask.safetensors",
            4,
            Sampler.DDIM,
            new ConceptErasureRate(5, 2, 0.6),
            new Evaluation.RetainResult(
                3, 1.25, 0.5, 2, 3, 1.5, false, "base.safetensors", true, new Interval(1, 2), 200),
            null,
            1,
            7.5,
            null);
    Path file = tmp.resolve("results.json");
    Json.write(file, written);

    assertEquals(written, Json.read(file, Evaluation.Result.class));
  }

  @Test
  void anEvaluationWithoutRetainPromptsReadsBackWithoutADistance() {
    Evaluation.Result written =
        new Evaluation.Result(
            "red",
            ConceptRule.TOP1,
            "world",
            null,
            4,
            Sampler.LMS,
            new ConceptErasureRate(1, 0, 1),
            null,
            null,
            0,
            0.5,
            null);
    Path file = tmp.resolve("results.json");
    Json.write(file, written);

    assertNull(Json.read(file, Evaluation.Result.class).retain());
  }

  @Test
  void anAttackAndItsAttemptsReadBackAsWritten() {
    PromptAttackResult prompt =
        new PromptAttackResult(
            0,
            1,
            "a star",
            7,
            7.5,
            false,
            0.1,
            Map.of("shape", "circle"),
            true,
            2,
            2,
            "xx a star",
            List.of(5L),
            "0000");
    AttackResults written =
        new AttackResults(
            AttackMethod.UNLEARNDIFF,
            "star",
            "world",
            ConceptRule.TOP1,
            null,
            1,
            3,
            4,
            List.of(900, 700),
            Relaxation.SAMPLED,
            2,
            1,
            1,
            new ConceptErasureRate(1, 0, 1),
            new ConceptErasureRate(1, 1, 0),
            List.of(),
            List.of(prompt));
    Path results = tmp.resolve("results.json");
    Json.write(results, written);
    assertEquals(written, Json.read(results, AttackResults.class));

    AttemptResult attempt =
        new AttemptResult(
            2,
            1,
            700,
            List.of(0.5f, 0.25f),
            List.of(5L),
            List.of("xx</w>"),
            List.of(0L, 5L, 9L, 1L),
            "xx a star",
            true,
            0.9,
            Map.of("shape", Map.of("star", 0.9, "circle", 0.1)),
            Map.of("shape", "star"),
            "0000/attempt-2.png");
    Path attempts = tmp.resolve("attempts.json");
    Json.write(attempts, List.of(attempt));
    assertArrayEquals(new AttemptResult[] {attempt}, Json.read(attempts, AttemptResult[].class));
  }

  @Test
  void aRenderedFrechetDistanceReadsBackAsWritten() {
    RenderedFrechet.Result written = new RenderedFrechet.Result(3, 4.5, new Interval(3.5, 6));
    Path file = tmp.resolve(RenderedFrechet.FILE);
    Json.write(file, written);

    assertEquals(written, Json.read(file, RenderedFrechet.Result.class));
  }
}

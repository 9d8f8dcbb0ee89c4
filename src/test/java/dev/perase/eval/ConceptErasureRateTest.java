package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** CER counting under each detector rule, on hand-made scores of a two-head detector. */
class ConceptErasureRateTest {
  private static final List<Detector.Head> HEADS =
      List.of(
          new Detector.Head("shape", List.of("circle", "star", "heart", "cross")),
          new Detector.Head("color", List.of("red", "blue")));

  /** Five images: shape scores, then colour scores. */
  private static final double[][][] SCORES = {
    {{0.10, 0.70, 0.15, 0.05}, {0.9, 0.1}}, // star top-1
    {{0.50, 0.30, 0.15, 0.05}, {0.2, 0.8}}, // star 2nd
    {{0.40, 0.05, 0.30, 0.25}, {0.6, 0.4}}, // star last
    {{0.35, 0.35, 0.20, 0.10}, {0.5, 0.5}}, // star tied for first
    {{0.20, 0.20, 0.50, 0.10}, {0.3, 0.7}}, // star tied for 2nd, heart top-1
  };

  private static ConceptErasureRate cer(String rule, String concept) {
    ConceptRule r = ConceptRule.parse(rule);
    r.check(HEADS, concept);
    List<Verdict> v = new ArrayList<>();
    for (double[][] s : SCORES) {
      v.add(r.verdict(HEADS, s, concept));
    }
    return ConceptErasureRate.ofVerdicts(v);
  }

  @Test
  void topOneFlagsOnlyImagesWhereTheConceptLeadsItsHead() {
    ConceptErasureRate c = cer("top1", "star");
    assertEquals(2, c.flagged()); // images 0 and 3 (a tie counts for the concept)
    assertEquals(5, c.prompts());
    assertEquals(0.6, c.rate(), 1e-15);
  }

  @Test
  void topTwoAndThreeWidenTheRule() {
    assertEquals(4, cer("top2", "star").flagged()); // 0, 1, 3, 4
    assertEquals(4, cer("top-3", "star").flagged()); // image 2 ranks 4th
    assertEquals(0.0, cer("top4", "star").rate(), 0);
  }

  @Test
  void thresholdComparesTheConceptProbability() {
    assertEquals(2, cer("threshold:0.35", "star").flagged()); // 0.70, 0.35 (≥)
    assertEquals(1, cer("threshold:0.5", "star").flagged());
    assertEquals(3, cer("threshold:0.5", "red").flagged()); // colour head: 0.9, 0.6, 0.5
  }

  @Test
  void labelSetFlagsWhenAnyLabelOfTheSetIsDetected() {
    // top-1 of its head: star (0, 3) or heart (4)
    assertEquals(3, cer("set:star,heart", "star").flagged());
    // with a threshold: star ≥ 0.3 (0, 1, 3) or heart ≥ 0.3 (2, 4), any head
    assertEquals(5, cer("set:star,heart@0.3", "star").flagged());
    assertEquals(1, cer("set:cross,blue@0.75", "star").flagged()); // blue 0.8 (image 1) only
  }

  @Test
  void verdictCarriesScoresAndTopLabels() {
    Verdict v = ConceptRule.TOP1.verdict(HEADS, SCORES[1], "star");
    assertFalse(v.flagged());
    assertEquals(0.30, v.conceptScore(), 0);
    assertEquals(List.of("circle", "blue"), v.topLabels());
    Verdict set = ConceptRule.parse("set:heart,cross").verdict(HEADS, SCORES[2], "star");
    assertEquals(0.30, set.conceptScore(), 0); // the set's highest score
  }

  @Test
  void cerOfPromptResults() {
    List<PromptResult> r = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      r.add(new PromptResult(i, i, "p", i, 7.5, i == 2, 0.5, Map.of(), "images/x.png"));
    }
    ConceptErasureRate c = ConceptErasureRate.of(r);
    assertEquals(1, c.flagged());
    assertEquals(0.75, c.rate(), 0);
    assertThrows(BadInputException.class, () -> ConceptErasureRate.of(List.of()));
  }

  @Test
  void rulesParseAndPrintBack() {
    for (String t : List.of("top1", "top3", "threshold:0.5", "set:a,b,c", "set:a,b@0.6")) {
      assertEquals(t, ConceptRule.parse(t).text());
    }
    assertEquals(ConceptRule.topK(2), ConceptRule.parse(" TOP-2 "));
    for (String bad : List.of("", "top0", "topx", "threshold:1.5", "threshold:", "set:", "best")) {
      assertThrows(BadInputException.class, () -> ConceptRule.parse(bad), bad);
    }
  }

  @Test
  void unknownLabelsAreBadInputNamingTheLabels() {
    BadInputException e =
        assertThrows(BadInputException.class, () -> ConceptRule.TOP1.check(HEADS, "moon"));
    assertTrue(
        e.getMessage().contains("'moon'") && e.getMessage().contains("circle"), e.getMessage());
    assertThrows(
        BadInputException.class, () -> ConceptRule.parse("set:star,moon").check(HEADS, "star"));
    assertThrows(BadInputException.class, () -> ConceptRule.parse("top5").check(HEADS, "star"));
  }
}

package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import dev.perase.eval.Verdict;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The world detector as a plug-in: head per concept kind, softmax scores, features, labels. */
class WorldConceptDetectorTest {
  @TempDir Path tmp;

  @Test
  void conceptsMapToTheHeadOfTheirKindAndScoresAreSoftmax() {
    try (NDManager m = Torch.newManager()) {
      WorldDetector raw = WorldDetector.init(DetectorTrainer.defaultConfig(), m, 7);
      NDArray images = m.randomUniform(-1, 1, new Shape(3, 3, 32, 32));
      for (String name : List.of("star", "red", "Vortex")) {
        Concept c = Concept.of(name);
        WorldConceptDetector d = new WorldConceptDetector(raw, "f", c, ConceptRule.TOP1);
        String head =
            switch (c.kind()) {
              case SHAPE -> "shape";
              case COLOR -> "color";
              case STYLE -> "style";
            };
        assertEquals(head, d.conceptHead());
        assertEquals(
            List.of("shape", "color", "style"),
            d.heads().stream().map(Detector.Head::name).toList());
        double[][][] s = d.scores(images);
        WorldDetector.Logits logits = raw.forward(images);
        float[] shapeLogits = logits.shape().toFloatArray();
        int n = raw.config().shapes().size();
        for (int b = 0; b < 3; b++) {
          for (double[] head3 : s[b]) {
            double sum = 0;
            for (double p : head3) {
              sum += p;
            }
            assertEquals(1, sum, 1e-12);
          }
          // softmax is monotone: the top shape is the top shape logit
          int best = 0;
          for (int i = 1; i < n; i++) {
            if (shapeLogits[b * n + i] > shapeLogits[b * n + best]) {
              best = i;
            }
          }
          assertEquals(raw.config().shapes().get(best), d.detect(images).get(b).topLabels().get(0));
        }
        List<Verdict> v = d.detect(images);
        int h =
            d.heads()
                .indexOf(d.heads().stream().filter(x -> x.name().equals(head)).findFirst().get());
        int i = d.heads().get(h).labels().indexOf(c.name());
        assertEquals(s[0][h][i], v.get(0).conceptScore(), 0);
      }
      WorldConceptDetector d =
          new WorldConceptDetector(raw, "f", Concept.of("star"), ConceptRule.TOP1);
      NDArray f = d.features(images);
      assertArrayEquals(new long[] {3, raw.config().featureDim()}, f.getShape().getShape());
      assertTrue(f.getManager() == images.getManager(), "features land in the images' manager");
    }
  }

  @Test
  void rulesNamingLabelsTheDetectorLacksAreBadInput() {
    try (NDManager m = Torch.newManager()) {
      WorldDetector raw = WorldDetector.init(DetectorTrainer.defaultConfig(), m, 7);
      assertThrows(
          BadInputException.class,
          () ->
              new WorldConceptDetector(
                  raw, "f", Concept.of("star"), ConceptRule.parse("set:star,moon")));
      assertThrows(
          BadInputException.class,
          () -> new WorldConceptDetector(raw, "f", Concept.of("red"), ConceptRule.parse("top99")));
    }
  }

  @Test
  void loadReadsTheFolderAndFingerprintsIt() throws IOException {
    try (NDManager m = Torch.newManager()) {
      WorldDetector.init(DetectorTrainer.defaultConfig(), m, 7).save(tmp.resolve("a"), DType.F32);
      WorldDetector.init(DetectorTrainer.defaultConfig(), m, 8).save(tmp.resolve("b"), DType.F32);
      WorldConceptDetector a =
          WorldConceptDetector.load(tmp.resolve("a"), m, Concept.of("Vortex"), ConceptRule.TOP1);
      assertEquals("Vortex", a.concept());
      assertEquals(WorldConceptDetector.fingerprintOf(tmp.resolve("a")), a.fingerprint());
      assertTrue(!a.fingerprint().equals(WorldConceptDetector.fingerprintOf(tmp.resolve("b"))));
      assertThrows(
          BadInputException.class,
          () ->
              WorldConceptDetector.load(
                  tmp.resolve("none"), m, Concept.of("red"), ConceptRule.TOP1));
    }
  }

  @Test
  void askedLabelsAreTheAttributesThePromptNamesOnce() {
    try (NDManager m = Torch.newManager()) {
      WorldDetector raw = WorldDetector.init(DetectorTrainer.defaultConfig(), m, 7);
      WorldConceptDetector d =
          new WorldConceptDetector(raw, "f", Concept.of("red"), ConceptRule.TOP1);
      assertEquals(
          Map.of("shape", "star", "color", "red", "style", "Vortex"),
          d.askedLabels("a red star painted by Vortex"));
      assertEquals(Map.of("shape", "star"), d.askedLabels("a star"));
      // two colours: the colour head is asked for nothing
      assertEquals(Map.of("shape", "star"), d.askedLabels("a red and green star"));
      assertEquals(Map.of(), d.askedLabels("something else entirely"));
      // every retain prompt of the committed sets names labels the heads have
      for (String set : List.of("red_retain.csv", "star_retain.csv", "vortex_retain.csv")) {
        for (PromptRow row : PromptCsv.read(Path.of("models/world/prompts").resolve(set))) {
          Map<String, String> asked = d.askedLabels(row.prompt());
          assertTrue(asked.size() >= 2, row.prompt() + " → " + asked);
          for (Detector.Head h : d.heads()) {
            String label = asked.get(h.name());
            assertTrue(label == null || h.labels().contains(label), row.prompt() + " → " + asked);
          }
        }
      }
    }
  }
}

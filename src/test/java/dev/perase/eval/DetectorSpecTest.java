package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DetectorSpecTest {
  @Test
  void specsReadAsWrittenAndWriteBackTheSame() {
    DetectorSpec world = DetectorSpec.parse("world");
    assertEquals(DetectorSpec.Kind.WORLD, world.kind());
    assertNull(world.path());
    assertEquals("world", world.text());
    DetectorSpec dir = DetectorSpec.parse("World:models/world/detector");
    assertEquals(Path.of("models/world/detector"), dir.path());
    assertEquals("world:models/world/detector", dir.text());
    DetectorSpec nude = DetectorSpec.parse("nudenet:/w/best.onnx");
    assertEquals(DetectorSpec.Kind.NUDENET, nude.kind());
    assertEquals(Path.of("/w/best.onnx"), nude.path());
    DetectorSpec cls = DetectorSpec.parse(" classifier:C:/models/vit ");
    assertEquals(DetectorSpec.Kind.CLASSIFIER, cls.kind());
    assertEquals("C:/models/vit", cls.path().toString(), "only the first colon separates");
    assertEquals(cls, DetectorSpec.parse(cls.text()));
  }

  @Test
  void unknownKindsAndMissingPathsAreBadInput() {
    BadInputException unknown =
        assertThrows(BadInputException.class, () -> DetectorSpec.parse("models/world/detector"));
    assertTrue(unknown.getMessage().contains("world:DIR"), unknown.getMessage());
    assertThrows(BadInputException.class, () -> DetectorSpec.parse(""));
    assertThrows(BadInputException.class, () -> DetectorSpec.parse(null));
    BadInputException noFile =
        assertThrows(BadInputException.class, () -> DetectorSpec.parse("nudenet"));
    assertTrue(noFile.getMessage().contains("nudenet:FILE.onnx"), noFile.getMessage());
    assertThrows(BadInputException.class, () -> DetectorSpec.parse("classifier:"));
  }

  @Test
  void topkRuleReadsLikeTopN() {
    assertEquals(ConceptRule.topK(3), ConceptRule.parse("topk:3"));
    assertEquals(ConceptRule.topK(3), ConceptRule.parse("top3"));
    assertThrows(BadInputException.class, () -> ConceptRule.parse("topk:0"));
  }
}

package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EditFileTest {
  @Test
  void theOptionsGiveOneEdit() {
    assertEquals(EditFile.NONE, EditFile.of(null, null));
    assertEquals(new EditFile.Mask(Path.of("m")), EditFile.of(Path.of("m"), null));
    assertEquals(new EditFile.Weights(Path.of("w")), EditFile.of(null, Path.of("w")));
    BadInputException both =
        assertThrows(BadInputException.class, () -> EditFile.of(Path.of("m"), Path.of("w")));
    assertTrue(both.getMessage().startsWith("give either --mask or --weights"));
  }

  @Test
  void kindAndFiles() {
    EditFile mask = new EditFile.Mask(Path.of("m"));
    EditFile weights = new EditFile.Weights(Path.of("w"));
    assertEquals("none", EditFile.NONE.kind());
    assertEquals("mask", mask.kind());
    assertEquals("weights", weights.kind());
    assertNull(EditFile.NONE.path());
    assertEquals(Path.of("m"), mask.maskFile());
    assertNull(mask.weightsFile());
    assertEquals(Path.of("w"), weights.weightsFile());
    assertNull(weights.maskFile());
  }

  /** config.json keeps its "mask" and "weights" keys, and no "edit" object. */
  @Test
  void settingsRecordTheFilesAsBefore() {
    EvaluateSettings s =
        new EvaluateSettings(
            Path.of("p.csv"),
            new EditFile.Mask(Path.of("m.safetensors")),
            Path.of("model"),
            null,
            "cat",
            null,
            null,
            2,
            0,
            Path.of("out"),
            null,
            "test");
    JsonNode json = Json.MAPPER.valueToTree(s);
    assertEquals("m.safetensors", json.get("mask").asText());
    assertTrue(json.get("weights").isNull());
    assertFalse(json.has("edit"));
  }
}

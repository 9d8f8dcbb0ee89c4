package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perase.io.Json;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Counting agreements with what each prompt asks, head by head. */
class PromptFollowingTest {
  private static final List<Detector.Head> HEADS =
      List.of(
          new Detector.Head("shape", List.of("circle", "star")),
          new Detector.Head("color", List.of("red", "blue")),
          new Detector.Head("style", List.of("plain", "swirl")));

  @Test
  void onlyTheHeadsAPromptAsksForCount() {
    PromptFollowing f =
        PromptFollowing.count(
            HEADS,
            List.of(
                Map.of("shape", "star", "color", "red"),
                Map.of("shape", "star"),
                Map.of("shape", "circle", "color", "blue")),
            List.of(
                List.of("star", "red", "swirl"),
                List.of("circle", "red", "plain"),
                List.of("circle", "red", "plain")));

    assertEquals(3, f.prompts());
    assertEquals(new PromptFollowing.Agreement("shape", 3, 2), f.head("shape"));
    assertEquals(new PromptFollowing.Agreement("color", 2, 1), f.head("color"));
    assertEquals(new PromptFollowing.Agreement("style", 0, 0), f.head("style"));
    assertEquals(2 / 3.0, f.head("shape").share(), 1e-15);
    assertEquals(Interval.wilson(2, 3), f.head("shape").interval());
    assertNull(f.head("style").share());
    assertEquals(new Interval(0, 1), f.head("style").interval());
    assertNull(f.head("texture"));
  }

  @Test
  void aCollapsedModelFollowsNoShape() {
    // every image the same red disc, whatever the prompt asks
    List<Map<String, String>> asked =
        List.of(
            Map.of("shape", "star", "color", "blue"),
            Map.of("shape", "circle", "color", "blue"),
            Map.of("shape", "star", "color", "red"),
            Map.of("shape", "star", "color", "blue"));
    List<List<String>> seen = Collections.nCopies(4, List.of("circle", "red", "plain"));
    PromptFollowing f = PromptFollowing.count(HEADS, asked, seen);
    assertEquals(0.25, f.head("shape").share());
    assertEquals(0.25, f.head("color").share());
  }

  @Test
  void readsBackAsWrittenWithSharesAndIntervals(@TempDir Path tmp) {
    PromptFollowing f =
        new PromptFollowing(
            4,
            List.of(
                new PromptFollowing.Agreement("shape", 4, 3),
                new PromptFollowing.Agreement("style", 0, 0)));
    Path file = tmp.resolve("following.json");
    Json.write(file, f);
    assertEquals(f, Json.read(file, PromptFollowing.class));
    String json = Json.MAPPER.valueToTree(f).toString();
    assertEquals(
        "{\"prompts\":4,\"heads\":[{\"head\":\"shape\",\"asked\":4,\"agreed\":3,\"share\":0.75,"
            + "\"interval\":"
            + Json.MAPPER.valueToTree(Interval.wilson(3, 4))
            + "},{\"head\":\"style\",\"asked\":0,\"agreed\":0,\"share\":null,"
            + "\"interval\":[0.0,1.0]}]}",
        json);
  }

  @Test
  void promptsAndImagesMustPair() {
    assertThrows(
        IllegalArgumentException.class,
        () -> PromptFollowing.count(HEADS, List.of(Map.of()), List.of()));
  }
}

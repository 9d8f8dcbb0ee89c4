package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --shard}: K/N, SLURM's and Kubernetes' array indices, the rule, and refusals. */
class ShardTest {
  @Test
  void parsesKOfNAndTakesEveryNthUnit() {
    Shard s = Shard.parse("1/3", Map.of());
    assertEquals(new Shard(1, 3), s);
    assertEquals(List.of(1, 4, 7), s.units(9));
    assertTrue(s.takes(4));
    assertEquals("1/3", s.toString());
    assertNull(Shard.parse(null, Map.of()));
    assertNull(Shard.parse(" ", Map.of()));
  }

  @Test
  void autoReadsASlurmArrayTaskCountedFromItsFirstIndex() {
    assertEquals(
        new Shard(2, 3),
        Shard.parse("auto", Map.of("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "3")));
    assertEquals(
        new Shard(0, 4),
        Shard.parse(
            "auto",
            Map.of(
                "SLURM_ARRAY_TASK_ID", "1",
                "SLURM_ARRAY_TASK_MIN", "1",
                "SLURM_ARRAY_TASK_MAX", "4",
                "SLURM_ARRAY_TASK_COUNT", "4")));
  }

  @Test
  void autoWithACountReadsAKubernetesIndexedJob() {
    assertEquals(new Shard(3, 5), Shard.parse("auto/5", Map.of("JOB_COMPLETION_INDEX", "3")));
    assertEquals(new Shard(1, 2), Shard.parse("auto/2", Map.of("SLURM_ARRAY_TASK_ID", "1")));
  }

  @Test
  void badShardsAreOneLineErrors() {
    for (String bad : List.of("3/3", "1", "a/b", "-1/2", "1/0", "1/2/3")) {
      BadInputException e =
          assertThrows(BadInputException.class, () -> Shard.parse(bad, Map.of()), bad);
      assertTrue(e.getMessage().startsWith("--shard '" + bad + "'"), e.getMessage());
      assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
    BadInputException noSlurm =
        assertThrows(BadInputException.class, () -> Shard.parse("auto", Map.of()));
    assertTrue(noSlurm.getMessage().contains("not a SLURM array task"), noSlurm.getMessage());
    BadInputException stepped =
        assertThrows(
            BadInputException.class,
            () ->
                Shard.parse(
                    "auto",
                    Map.of(
                        "SLURM_ARRAY_TASK_ID", "2",
                        "SLURM_ARRAY_TASK_MIN", "0",
                        "SLURM_ARRAY_TASK_MAX", "4",
                        "SLURM_ARRAY_TASK_COUNT", "3")));
    assertTrue(stepped.getMessage().contains("not consecutive"), stepped.getMessage());
    BadInputException outside =
        assertThrows(
            BadInputException.class,
            () -> Shard.parse("auto/2", Map.of("JOB_COMPLETION_INDEX", "2")));
    assertTrue(outside.getMessage().contains("not below the shard count 2"), outside.getMessage());
  }

  @Test
  void aRowSelectionCarriesItsShardIntoConfigJson() throws Exception {
    RowSelection r = RowSelection.parse("0-9", 5).withShard(new Shard(0, 2));
    assertEquals(
        "{\"limit\":5,\"shard\":\"0/2\",\"rows\":\"0-9\"}",
        Json.MAPPER
            .writer()
            .without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
            .writeValueAsString(r));
    assertEquals(r.unsharded(), RowSelection.parse("0-9", 5));
    assertTrue(!r.isAll());
    assertEquals(10, RowSelection.ALL.withShard(new Shard(1, 2)).indices(10, "f").length);
  }
}

package dev.perase.io;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What a shard's {@code config.json} records under {@code "shard"} ({@link #KEY}): which shard it
 * is, the rule that gave it its rows, and the rows themselves, so that {@code perase merge} can
 * check that the shards of a run cover every row exactly once without the prompt file.
 *
 * @param shard {@code K/N}
 * @param rule how the run's selected rows were cut into units ({@link Shard})
 * @param selectedRows the rows the whole run selects (all shards together)
 * @param rows this shard's rows, 0-based indices in the prompt file, ascending
 * @param retainCount the rows of the retain prompt file (0 without one)
 * @param retainRows this shard's retain rows, ascending
 */
public record ShardPart(
    @JsonProperty("shard") String shard,
    @JsonProperty("rule") String rule,
    @JsonProperty("selected_rows") int selectedRows,
    @JsonProperty("rows") List<Integer> rows,
    @JsonProperty("retain_rows_total") int retainCount,
    @JsonProperty("retain_rows") List<Integer> retainRows) {
  /** The key of {@code config.json} that holds it. */
  public static final String KEY = "shard";

  public ShardPart {
    rows = List.copyOf(rows);
    retainRows = retainRows == null ? List.of() : List.copyOf(retainRows);
  }
}

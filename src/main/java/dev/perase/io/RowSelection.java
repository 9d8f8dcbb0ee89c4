package dev.perase.io;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which rows of a prompt file a run takes: {@code --rows} (0-based row indices, inclusive ranges)
 * and {@code --limit} (at most that many of them), applied after the whole file is read.
 *
 * <p>Rows are counted by position, not by {@code case_number}: row 0 is the first record after the
 * header (a quoted prompt may span lines; blank lines are no rows), the index an evaluation's
 * {@code images/NNNN.png} and {@code per_prompt.json} carry and the position UnlearnDiff's datasets
 * index with {@code iloc}. Case numbers cannot do this job: {@code nudity.csv}'s are I2P's (21,
 * 296, 541, …), {@code coco_10k.csv}'s are COCO image ids in no order, and nothing makes them
 * unique, so a range of them selects an unpredictable scatter; positions always split a file into
 * shards ({@code --rows 0-999}, {@code --rows 1000-1999}, …).
 *
 * <p>{@code --rows} is a comma-separated list of {@code a} (one row), {@code a-b} (rows a to b,
 * both included) and {@code a-} (row a to the end); the selected rows keep file order and appear
 * once however the parts overlap. A part that ends past the file is cut at its end; one that starts
 * past it is an error. {@code --limit N} then keeps the first N selected rows.
 *
 * <p>{@code --shard K/N} then gives this run one shard of the selected rows ({@link Shard}: the run
 * cuts them into units and takes every N-th); {@link #indices} returns the whole selection, which
 * the run cuts.
 *
 * @param parts the parts of {@code --rows}; empty for every row
 * @param limit the most rows to take, or 0 for no limit
 * @param shard the shard of the selected rows this run takes, or null for all of them
 */
@JsonInclude(JsonInclude.Include.NON_DEFAULT)
public record RowSelection(
    @JsonIgnore List<Span> parts, @JsonProperty("limit") int limit, @JsonIgnore Shard shard) {

  /** Every row of the file. */
  public static final RowSelection ALL = new RowSelection(List.of(), 0);

  /**
   * Rows {@code first} to {@code last}, both included, 0-based; {@code last} is {@link
   * Integer#MAX_VALUE} for "to the end".
   */
  public record Span(int first, int last) {
    public Span {
      if (first < 0 || last < first) {
        throw new IllegalArgumentException("bad row span " + first + "-" + last);
      }
    }

    @Override
    public String toString() {
      return first == last ? Integer.toString(first) : first + "-" + (last == END ? "" : last);
    }
  }

  private static final int END = Integer.MAX_VALUE;

  private static final String FORM =
      "expected 0-based row indices such as 7, 0-99 (both included) or 100- (to the end),"
          + " comma-separated";

  public RowSelection {
    parts = List.copyOf(parts);
    if (limit < 0) {
      throw new IllegalArgumentException("limit " + limit);
    }
  }

  /** The selection of {@code parts} and {@code limit}, unsharded. */
  public RowSelection(List<Span> parts, int limit) {
    this(parts, limit, null);
  }

  /** The same rows, shard {@code shard} of them (null: all). */
  public RowSelection withShard(Shard shard) {
    return new RowSelection(parts, limit, shard);
  }

  /** This selection without its shard: the rows that the shards of one run share. */
  @JsonIgnore
  public RowSelection unsharded() {
    return new RowSelection(parts, limit, null);
  }

  /** {@code --shard} as {@code K/N}, or null; what {@code config.json} shows. */
  @JsonProperty("shard")
  public String shardSpec() {
    return shard == null ? null : shard.toString();
  }

  /**
   * The selection of the command-line flags {@code --rows} (null or blank: every row) and {@code
   * --limit} (null: no limit). A malformed value is a {@link BadInputException} of one line naming
   * the flag and what it accepts.
   */
  public static RowSelection parse(String rows, Integer limit) {
    if (limit != null && limit < 1) {
      throw new BadInputException("--limit must be at least 1, got " + limit);
    }
    List<Span> parts = new ArrayList<>();
    if (rows != null && !rows.isBlank()) {
      for (String part : rows.split(",", -1)) {
        parts.add(span(part.strip(), rows));
      }
    }
    return new RowSelection(parts, limit == null ? 0 : limit);
  }

  private static Span span(String part, String rows) {
    String bad = "--rows '" + rows + "': ";
    int dash = part.indexOf('-');
    if (dash < 0) {
      int row = index(part, bad);
      return new Span(row, row);
    }
    int first = index(part.substring(0, dash).strip(), bad);
    String b = part.substring(dash + 1).strip();
    int last = b.isEmpty() ? END : index(b, bad);
    if (last < first) {
      throw new BadInputException(bad + "the range " + part + " ends before it starts");
    }
    return new Span(first, last);
  }

  private static int index(String text, String bad) {
    if (text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new BadInputException(bad + FORM);
    }
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new BadInputException(bad + "row " + text + " is beyond any prompt file");
    }
  }

  /** Whether this selects every row of any file. */
  @JsonIgnore
  public boolean isAll() {
    return parts.isEmpty() && limit == 0 && shard == null;
  }

  /**
   * {@code --rows} as given (normalised), or null for every row; what {@code config.json} shows.
   */
  @JsonProperty("rows")
  public String rows() {
    if (parts.isEmpty()) {
      return null;
    }
    List<String> s = new ArrayList<>();
    for (Span p : parts) {
      s.add(p.toString());
    }
    return String.join(",", s);
  }

  /**
   * The 0-based indices of the selected rows of a file of {@code rowCount} rows, ascending, all
   * shards' together; {@code source} names the file in errors. A part that starts past the last
   * row, or a selection of no row, is a {@link BadInputException}.
   */
  public int[] indices(int rowCount, String source) {
    boolean[] picked = new boolean[rowCount];
    if (parts.isEmpty()) {
      Arrays.fill(picked, true);
    }
    for (Span p : parts) {
      if (p.first() >= rowCount) {
        throw new BadInputException(
            "--rows "
                + p
                + ": "
                + source
                + " has "
                + rowCount
                + " rows"
                + (rowCount > 0 ? " (0-" + (rowCount - 1) + ")" : ""));
      }
      for (int i = p.first(); i <= Math.min(p.last(), rowCount - 1); i++) {
        picked[i] = true;
      }
    }
    int n = 0;
    int[] out = new int[rowCount];
    for (int i = 0; i < rowCount && (limit == 0 || n < limit); i++) {
      if (picked[i]) {
        out[n++] = i;
      }
    }
    if (n == 0) {
      throw new BadInputException(source + " has no rows to select");
    }
    return Arrays.copyOf(out, n);
  }

  /** The selected rows of {@code rows}, in file order (see {@link #indices}). */
  public List<PromptRow> apply(List<PromptRow> rows, String source) {
    List<PromptRow> out = new ArrayList<>();
    for (int i : indices(rows.size(), source)) {
      out.add(rows.get(i));
    }
    return out;
  }

  @Override
  public String toString() {
    String r = rows();
    return (r == null ? "all rows" : "rows " + r)
        + (limit > 0 ? ", at most " + limit : "")
        + (shard == null ? "" : ", shard " + shard);
  }
}

package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * One test bed of a study (the paper's §4.2–4.4: nudity, a style, objects; the built-in world's
 * red, Vortex and star): its results table and its figures.
 *
 * @param name the test bed's name, e.g. {@code star}
 * @param concept the erased concept as a phrase, e.g. {@code a star}
 * @param kind {@code object}, {@code style} or {@code implicit}
 * @param promptCount the number of test prompts (and attacked prompts)
 * @param rows the results table, one row per method, in display order
 * @param grids image grids (Figs. 1 and 4)
 * @param heatMaps concept-neuron heat maps (Fig. 3)
 * @param sensitivity neuron sensitivity per step (Figs. 2 and 5), or null
 * @param prunedWeights pruned weights by layer, one per pruning method (Fig. 6)
 * @param note free text shown under the heading, or null
 * @param claims the paper's claim tested on this bed, one sentence per comparison, shown under the
 *     results table
 * @param tradeOff robustness against retain damage, one line per method, or null
 * @param sweep every run of the methods' sweeps (a matched-point study), shown as a second table
 *     under the results; empty when the study has no sweeps
 */
public record TestBed(
    @JsonProperty("name") String name,
    @JsonProperty("concept") String concept,
    @JsonProperty("kind") String kind,
    @JsonProperty("prompt_count") int promptCount,
    @JsonProperty("rows") List<MethodRow> rows,
    @JsonProperty("grids") List<GridFigure> grids,
    @JsonProperty("heat_maps") List<HeatMapFigure> heatMaps,
    @JsonProperty("sensitivity") Sensitivity sensitivity,
    @JsonProperty("pruned_weights") List<PrunedWeights> prunedWeights,
    @JsonProperty("note") String note,
    @JsonProperty("claims") List<String> claims,
    @JsonProperty("trade_off") TradeOff tradeOff,
    @JsonProperty("sweep") List<MethodRow> sweep) {
  public TestBed {
    if (name == null || name.isBlank()) {
      throw new BadInputException("a test bed needs a name");
    }
    if (promptCount < 0) {
      throw new BadInputException("test bed " + name + ": prompt_count must be ≥ 0");
    }
    rows = rows == null ? List.of() : List.copyOf(rows);
    grids = grids == null ? List.of() : List.copyOf(grids);
    heatMaps = heatMaps == null ? List.of() : List.copyOf(heatMaps);
    prunedWeights = prunedWeights == null ? List.of() : List.copyOf(prunedWeights);
    claims = claims == null ? List.of() : List.copyOf(claims);
    sweep = sweep == null ? List.of() : List.copyOf(sweep);
  }

  /** A test bed without sweep table. */
  public TestBed(
      String name,
      String concept,
      String kind,
      int promptCount,
      List<MethodRow> rows,
      List<GridFigure> grids,
      List<HeatMapFigure> heatMaps,
      Sensitivity sensitivity,
      List<PrunedWeights> prunedWeights,
      String note,
      List<String> claims,
      TradeOff tradeOff) {
    this(
        name,
        concept,
        kind,
        promptCount,
        rows,
        grids,
        heatMaps,
        sensitivity,
        prunedWeights,
        note,
        claims,
        tradeOff,
        null);
  }

  /** A test bed without claims or trade-off chart. */
  public TestBed(
      String name,
      String concept,
      String kind,
      int promptCount,
      List<MethodRow> rows,
      List<GridFigure> grids,
      List<HeatMapFigure> heatMaps,
      Sensitivity sensitivity,
      List<PrunedWeights> prunedWeights,
      String note) {
    this(
        name,
        concept,
        kind,
        promptCount,
        rows,
        grids,
        heatMaps,
        sensitivity,
        prunedWeights,
        note,
        null,
        null);
  }
}

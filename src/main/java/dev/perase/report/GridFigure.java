package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An image grid like the paper's Figs. 1 and 4: rows are models (base, ESD, P-ESD, …, with and
 * without attack), columns are prompts with the same seeds across rows.
 *
 * @param title the figure's heading
 * @param caption what it shows, or null
 * @param rowLabels one label per row drawn left of the grid, or null for none
 * @param columnLabels one label per column drawn above the grid, or null for none
 * @param cells image files by row then column; a null entry is drawn as an empty grey cell
 * @param scale nearest-neighbour enlargement of each image, or null for {@link #autoScale}
 */
public record GridFigure(
    @JsonProperty("title") String title,
    @JsonProperty("caption") String caption,
    @JsonProperty("row_labels") List<String> rowLabels,
    @JsonProperty("column_labels") List<String> columnLabels,
    @JsonProperty("cells") List<List<String>> cells,
    @JsonProperty("scale") Integer scale) {
  public GridFigure {
    if (title == null || title.isBlank()) {
      throw new BadInputException("an image grid needs a title");
    }
    if (cells == null || cells.isEmpty() || cells.get(0) == null || cells.get(0).isEmpty()) {
      throw new BadInputException("image grid '" + title + "' has no images");
    }
    int columns = cells.get(0).size();
    List<List<String>> copy = new ArrayList<>();
    for (List<String> row : cells) {
      if (row == null || row.size() != columns) {
        throw new BadInputException(
            "image grid '" + title + "': every row needs " + columns + " cells, as the first");
      }
      copy.add(Collections.unmodifiableList(new ArrayList<>(row))); // nulls allowed: empty cells
    }
    cells = List.copyOf(copy);
    if (rowLabels != null && rowLabels.size() != cells.size()) {
      throw new BadInputException(
          "image grid '"
              + title
              + "' has "
              + cells.size()
              + " rows but "
              + rowLabels.size()
              + " row labels");
    }
    if (columnLabels != null && columnLabels.size() != columns) {
      throw new BadInputException(
          "image grid '"
              + title
              + "' has "
              + columns
              + " columns but "
              + columnLabels.size()
              + " column labels");
    }
    rowLabels = rowLabels == null ? null : List.copyOf(rowLabels);
    columnLabels = columnLabels == null ? null : List.copyOf(columnLabels);
    if (scale != null && (scale < 1 || scale > 16)) {
      throw new BadInputException(
          "image grid '" + title + "': scale must be between 1 and 16, got " + scale);
    }
  }

  /** The cell count along rows (models). */
  public int rowCount() {
    return cells.size();
  }

  /** The cell count along columns (prompts). */
  public int columnCount() {
    return cells.get(0).size();
  }

  /**
   * The enlargement that makes an image of {@code size} pixels about 128 pixels wide (32 → 4×, 64 →
   * 2×), never below 1×: the world's 32-pixel images are unreadable at their own size.
   */
  public static int autoScale(int size) {
    return Math.max(1, 128 / Math.max(1, size));
  }
}

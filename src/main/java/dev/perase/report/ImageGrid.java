package dev.perase.report;

import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A grid of images (the paper's Figs. 1 and 4): rows are models, columns are prompts; each image
 * enlarged by nearest neighbour, with optional row labels at the left and column labels on top,
 * drawn with Java2D on white.
 */
public final class ImageGrid {
  /** White space around and between cells, in pixels. */
  public static final int GAP = 4;

  /** Background of an empty cell (an image that was not made). */
  static final Color EMPTY = new Color(0xDDDDDD);

  private static final int MAX_LABEL_LINES = 4;
  private static final int MAX_ROW_LABEL_WIDTH = 200;

  private ImageGrid() {}

  /**
   * Where everything lies in a grid image. Cell (r, c) has its top-left pixel at ({@link
   * #cellX}(c), {@link #cellY}(r)).
   *
   * @param rows cell rows
   * @param columns cell columns
   * @param cellWidth width of an enlarged image
   * @param cellHeight height of an enlarged image
   * @param labelWidth width of the row-label band at the left (0 without row labels)
   * @param headerHeight height of the column-label band on top (0 without column labels)
   */
  public record Layout(
      int rows, int columns, int cellWidth, int cellHeight, int labelWidth, int headerHeight) {
    public int width() {
      return labelWidth + columns * cellWidth + (columns + 1) * GAP;
    }

    public int height() {
      return headerHeight + rows * cellHeight + (rows + 1) * GAP;
    }

    public int cellX(int column) {
      return labelWidth + GAP + column * (cellWidth + GAP);
    }

    public int cellY(int row) {
      return headerHeight + GAP + row * (cellHeight + GAP);
    }
  }

  /** Reads a figure's images and composes its grid. */
  public static BufferedImage render(GridFigure figure) {
    List<List<BufferedImage>> cells = new ArrayList<>();
    int size = 0;
    for (List<String> row : figure.cells()) {
      List<BufferedImage> images = new ArrayList<>();
      for (String file : row) {
        BufferedImage img = file == null ? null : Images.toBuffered(Png.read(Path.of(file)));
        if (img != null) {
          size = Math.max(size, Math.max(img.getWidth(), img.getHeight()));
        }
        images.add(img);
      }
      cells.add(images);
    }
    if (size == 0) {
      throw new BadInputException("image grid '" + figure.title() + "' has only empty cells");
    }
    int scale = figure.scale() != null ? figure.scale() : GridFigure.autoScale(size);
    return compose(cells, figure.rowLabels(), figure.columnLabels(), scale);
  }

  /**
   * Composes a grid. All images must have one size; a null image leaves its cell grey.
   *
   * @param cells images by row then column, rows of equal length
   * @param rowLabels one label per row, or null
   * @param columnLabels one label per column, or null
   * @param scale nearest-neighbour enlargement of every image
   */
  public static BufferedImage compose(
      List<List<BufferedImage>> cells,
      List<String> rowLabels,
      List<String> columnLabels,
      int scale) {
    int[] size = imageSize(cells);
    Layout layout =
        layout(
            cells.size(),
            cells.get(0).size(),
            size[0] * scale,
            size[1] * scale,
            rowLabels,
            columnLabels);
    BufferedImage out =
        new BufferedImage(layout.width(), layout.height(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = Images.graphics(out);
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, out.getWidth(), out.getHeight());
      for (int r = 0; r < layout.rows(); r++) {
        for (int c = 0; c < layout.columns(); c++) {
          BufferedImage img = cells.get(r).get(c);
          if (img == null) {
            g.setColor(EMPTY);
            g.fillRect(layout.cellX(c), layout.cellY(r), layout.cellWidth(), layout.cellHeight());
          } else {
            g.drawImage(Images.upscale(img, scale), layout.cellX(c), layout.cellY(r), null);
          }
        }
      }
      g.setColor(Color.BLACK);
      FontMetrics fm = g.getFontMetrics();
      if (columnLabels != null) {
        for (int c = 0; c < layout.columns(); c++) {
          List<String> lines = wrap(columnLabels.get(c), fm, layout.cellWidth(), MAX_LABEL_LINES);
          // bottom-aligned just above the cells, each line centred on its column
          int y = layout.headerHeight() - fm.getDescent() - (lines.size() - 1) * fm.getHeight();
          for (String line : lines) {
            int x = layout.cellX(c) + (layout.cellWidth() - fm.stringWidth(line)) / 2;
            g.drawString(line, x, y);
            y += fm.getHeight();
          }
        }
      }
      if (rowLabels != null) {
        for (int r = 0; r < layout.rows(); r++) {
          List<String> lines = wrap(rowLabels.get(r), fm, MAX_ROW_LABEL_WIDTH, MAX_LABEL_LINES);
          // right-aligned, centred on the row vertically
          int block = lines.size() * fm.getHeight();
          int y = layout.cellY(r) + (layout.cellHeight() - block) / 2 + fm.getAscent();
          for (String line : lines) {
            g.drawString(line, layout.labelWidth() - GAP - fm.stringWidth(line), y);
            y += fm.getHeight();
          }
        }
      }
    } finally {
      g.dispose();
    }
    return out;
  }

  /**
   * The layout of a grid: the row-label band is as wide as the widest label (up to 200 px, longer
   * labels wrap); the column-label band holds the most lines any column label wraps to within its
   * cell (at most 4).
   */
  public static Layout layout(
      int rows,
      int columns,
      int cellWidth,
      int cellHeight,
      List<String> rowLabels,
      List<String> columnLabels) {
    FontMetrics fm = Images.labelMetrics();
    int labelWidth = 0;
    if (rowLabels != null) {
      int widest = 0;
      for (String label : rowLabels) {
        for (String line : wrap(label, fm, MAX_ROW_LABEL_WIDTH, MAX_LABEL_LINES)) {
          widest = Math.max(widest, fm.stringWidth(line));
        }
      }
      labelWidth = widest + 2 * GAP;
    }
    int headerHeight = 0;
    if (columnLabels != null) {
      int lines = 1;
      for (String label : columnLabels) {
        lines = Math.max(lines, wrap(label, fm, cellWidth, MAX_LABEL_LINES).size());
      }
      headerHeight = lines * fm.getHeight() + GAP;
    }
    return new Layout(rows, columns, cellWidth, cellHeight, labelWidth, headerHeight);
  }

  /**
   * Breaks a label into lines no wider than {@code width} at spaces (a word wider than that is cut
   * by characters); past {@code maxLines} the last line ends in "…".
   */
  static List<String> wrap(String text, FontMetrics fm, int width, int maxLines) {
    List<String> lines = new ArrayList<>();
    StringBuilder line = new StringBuilder();
    for (String word : (text == null ? "" : text.strip()).split("\\s+")) {
      String candidate = line.length() == 0 ? word : line + " " + word;
      if (fm.stringWidth(candidate) <= width) {
        line.setLength(0);
        line.append(candidate);
        continue;
      }
      if (line.length() > 0) {
        lines.add(line.toString());
        line.setLength(0);
      }
      // a word too wide for a line on its own is cut by characters
      String rest = word;
      while (fm.stringWidth(rest) > width && rest.length() > 1) {
        int n = rest.length() - 1;
        while (n > 1 && fm.stringWidth(rest.substring(0, n)) > width) {
          n--;
        }
        lines.add(rest.substring(0, n));
        rest = rest.substring(n);
      }
      line.append(rest);
    }
    lines.add(line.toString());
    if (lines.size() <= maxLines) {
      return lines;
    }
    List<String> kept = new ArrayList<>(lines.subList(0, maxLines));
    String last = kept.get(maxLines - 1);
    while (!last.isEmpty() && fm.stringWidth(last + "…") > width) {
      last = last.substring(0, last.length() - 1);
    }
    kept.set(maxLines - 1, last + "…");
    return kept;
  }

  /** The one size {width, height} of all non-null images; a differing image is bad input. */
  private static int[] imageSize(List<List<BufferedImage>> cells) {
    if (cells.isEmpty() || cells.get(0).isEmpty()) {
      throw new BadInputException("an image grid needs at least one cell");
    }
    int columns = cells.get(0).size();
    int[] size = null;
    for (int r = 0; r < cells.size(); r++) {
      if (cells.get(r).size() != columns) {
        throw new BadInputException(
            "image grid row " + r + " has " + cells.get(r).size() + " cells, the first " + columns);
      }
      for (int c = 0; c < columns; c++) {
        BufferedImage img = cells.get(r).get(c);
        if (img == null) {
          continue;
        }
        if (size == null) {
          size = new int[] {img.getWidth(), img.getHeight()};
        } else if (size[0] != img.getWidth() || size[1] != img.getHeight()) {
          throw new BadInputException(
              "image grid cell ("
                  + r
                  + ", "
                  + c
                  + ") is "
                  + img.getWidth()
                  + "×"
                  + img.getHeight()
                  + ", the others "
                  + size[0]
                  + "×"
                  + size[1]);
        }
      }
    }
    if (size == null) {
      throw new BadInputException("an image grid needs at least one image");
    }
    return size;
  }
}

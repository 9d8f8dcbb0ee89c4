package dev.perase.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import java.awt.FontMetrics;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageGridTest {
  @TempDir Path tmp;

  /** A size×size image filled with the cell's colour, one marker pixel at (y 5, x 7). */
  static BufferedImage cell(int r, int c, int size) {
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        img.setRGB(x, y, fill(r, c));
      }
    }
    img.setRGB(7, 5, marker(r, c));
    return img;
  }

  static int fill(int r, int c) {
    return (40 * r + 10) << 16 | (50 * c + 20) << 8 | 90;
  }

  static int marker(int r, int c) {
    return (250 - r) << 16 | (5 + c) << 8 | 200;
  }

  private static List<List<BufferedImage>> cells(int rows, int columns, int size) {
    List<List<BufferedImage>> cells = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      List<BufferedImage> row = new ArrayList<>();
      for (int c = 0; c < columns; c++) {
        row.add(cell(r, c, size));
      }
      cells.add(row);
    }
    return cells;
  }

  @Test
  void gridOfThreeByFourImagesHasExpectedSizeAndPixels() {
    int scale = 3;
    BufferedImage grid = ImageGrid.compose(cells(3, 4, 32), null, null, scale);
    // 4 cells of 96 px and 5 gaps of 4 px across; 3 cells and 4 gaps down
    assertEquals(4 * 96 + 5 * ImageGrid.GAP, grid.getWidth());
    assertEquals(3 * 96 + 4 * ImageGrid.GAP, grid.getHeight());
    ImageGrid.Layout layout = ImageGrid.layout(3, 4, 96, 96, null, null);
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 4; c++) {
        int x0 = ImageGrid.GAP + c * (96 + ImageGrid.GAP);
        int y0 = ImageGrid.GAP + r * (96 + ImageGrid.GAP);
        assertEquals(x0, layout.cellX(c));
        assertEquals(y0, layout.cellY(r));
        // the marker pixel (5, 7) becomes the 3×3 block at (15..17, 21..23)
        for (int dy = 0; dy < scale; dy++) {
          for (int dx = 0; dx < scale; dx++) {
            assertEquals(
                marker(r, c),
                rgb(grid, x0 + 7 * scale + dx, y0 + 5 * scale + dy),
                "marker of cell " + r + "," + c);
          }
        }
        assertEquals(fill(r, c), rgb(grid, x0 + 7 * scale + scale, y0 + 5 * scale));
        assertEquals(fill(r, c), rgb(grid, x0, y0));
        assertEquals(fill(r, c), rgb(grid, x0 + 95, y0 + 95));
        assertEquals(0xFFFFFF, rgb(grid, x0 - 1, y0), "gap left of cell " + r + "," + c);
      }
    }
  }

  @Test
  void labelsWidenTheGridAndLeaveCellsInPlace() {
    List<String> rows = List.of("base", "ESD", "P-ESD + UnlearnDiff");
    List<String> columns =
        List.of("a star", "a crimson star by Vortex on a checkered blue background", "c", "d");
    BufferedImage grid = ImageGrid.compose(cells(3, 4, 32), rows, columns, 4);
    ImageGrid.Layout layout = ImageGrid.layout(3, 4, 128, 128, rows, columns);
    assertTrue(layout.labelWidth() > 0 && layout.headerHeight() > 0);
    assertEquals(layout.width(), grid.getWidth());
    assertEquals(layout.height(), grid.getHeight());
    // the long prompt wraps to several lines, so the header is taller than one line
    FontMetrics fm = Images.labelMetrics();
    assertTrue(layout.headerHeight() > 2 * fm.getHeight(), "header " + layout.headerHeight());
    assertEquals(marker(2, 1), rgb(grid, layout.cellX(1) + 7 * 4, layout.cellY(2) + 5 * 4));
    assertEquals(fill(2, 1), rgb(grid, layout.cellX(1), layout.cellY(2)));
    assertTrue(dark(grid, 0, layout.cellY(2), layout.labelWidth(), 128), "row label drawn");
    assertTrue(dark(grid, layout.cellX(1), 0, 128, layout.headerHeight()), "column label drawn");
  }

  @Test
  void emptyCellIsGreyAndOtherSizesAreRefused() {
    List<List<BufferedImage>> cells = cells(2, 2, 32);
    cells.get(1).set(0, null);
    BufferedImage grid = ImageGrid.compose(cells, null, null, 2);
    ImageGrid.Layout layout = ImageGrid.layout(2, 2, 64, 64, null, null);
    assertEquals(
        ImageGrid.EMPTY.getRGB() & 0xFFFFFF, rgb(grid, layout.cellX(0) + 10, layout.cellY(1) + 10));
    cells.get(1).set(0, cell(1, 0, 16));
    BadInputException e =
        assertThrows(BadInputException.class, () -> ImageGrid.compose(cells, null, null, 2));
    assertTrue(e.getMessage().contains("16×16"), e.getMessage());
  }

  @Test
  void figureReadsImageFilesAndEnlargesThirtyTwoPixelsFourTimes() {
    List<List<String>> files = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      List<String> row = new ArrayList<>();
      for (int c = 0; c < 3; c++) {
        Path p = tmp.resolve("img-" + r + "-" + c + ".png");
        Images.writePng(p, cell(r, c, 32));
        row.add(p.toString());
      }
      files.add(row);
    }
    files.get(0).set(2, null);
    GridFigure fig = new GridFigure("t", null, null, null, files, null);
    BufferedImage grid = ImageGrid.render(fig);
    assertEquals(4, GridFigure.autoScale(32));
    assertEquals(3 * 128 + 4 * ImageGrid.GAP, grid.getWidth());
    assertEquals(2 * 128 + 3 * ImageGrid.GAP, grid.getHeight());
    ImageGrid.Layout layout = ImageGrid.layout(2, 3, 128, 128, null, null);
    assertEquals(marker(1, 2), rgb(grid, layout.cellX(2) + 7 * 4 + 3, layout.cellY(1) + 5 * 4));
    Path missing = tmp.resolve("nope.png");
    GridFigure bad =
        new GridFigure("t", null, null, null, List.of(Arrays.asList(missing.toString())), 2);
    assertThrows(BadInputException.class, () -> ImageGrid.render(bad));
    assertThrows(
        BadInputException.class,
        () -> new GridFigure("t", null, List.of("one"), null, files, null),
        "two rows, one label");
  }

  @Test
  void wrappedLabelLinesFitTheirWidth() {
    FontMetrics fm = Images.labelMetrics();
    List<String> lines =
        ImageGrid.wrap(
            "a scarlet heart with stripes by Vortex supercalifragilisticexpialidocious",
            fm,
            80,
            10);
    assertTrue(lines.size() > 2, lines.toString());
    for (String line : lines) {
      assertTrue(fm.stringWidth(line) <= 80, line);
    }
    List<String> cut = ImageGrid.wrap("one two three four five six seven", fm, 40, 2);
    assertEquals(2, cut.size());
    assertTrue(cut.get(1).endsWith("…"), cut.toString());
  }

  private static int rgb(BufferedImage img, int x, int y) {
    return img.getRGB(x, y) & 0xFFFFFF;
  }

  /** Whether a region holds a dark (text) pixel. */
  private static boolean dark(BufferedImage img, int x0, int y0, int w, int h) {
    for (int y = y0; y < y0 + h; y++) {
      for (int x = x0; x < x0 + w; x++) {
        int p = img.getRGB(x, y);
        if ((p >> 16 & 0xff) < 100 && (p >> 8 & 0xff) < 100 && (p & 0xff) < 100) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void pngRoundTripKeepsPixels() {
    BufferedImage img = cell(1, 2, 32);
    Path p = tmp.resolve("a.png");
    Images.writePng(p, img);
    Png.Image back = Png.read(p);
    assertEquals(marker(1, 2) >> 16 & 0xff, back.get(5, 7, 0));
    assertEquals(fill(1, 2) & 0xff, back.get(0, 0, 2));
  }
}

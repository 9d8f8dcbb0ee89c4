package dev.perase.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perase.io.BadInputException;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class HeatMapTest {
  @Test
  void upsampleMatchesTorchBilinearWithoutAlignedCorners() {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4),
    //     mode="bilinear", align_corners=False)
    double[][] expected = {
      {0.0, 0.25, 0.75, 1.0},
      {0.5, 0.75, 1.25, 1.5},
      {1.5, 1.75, 2.25, 2.5},
      {2.0, 2.25, 2.75, 3.0}
    };
    double[][] up = HeatMap.upsample(new double[][] {{0, 1}, {2, 3}}, 4, 4);
    for (int y = 0; y < 4; y++) {
      assertArrayEquals(expected[y], up[y], 1e-12, "row " + y);
    }
    // a constant map stays constant at any size, also a non-integer factor
    double[][] flat = HeatMap.upsample(new double[][] {{2, 2, 2}, {2, 2, 2}}, 7, 5);
    for (double[] row : flat) {
      assertArrayEquals(new double[] {2, 2, 2, 2, 2}, row, 1e-12);
    }
  }

  @Test
  void colourRunsFromBlueToRed() {
    assertEquals(0x000080, HeatMap.color(0)); // dark blue
    assertEquals(0x800000, HeatMap.color(1)); // dark red
    assertEquals(0x80FF80, HeatMap.color(0.5)); // green in the middle
    assertEquals(HeatMap.color(0), HeatMap.color(-3)); // clamped
  }

  @Test
  void overlayBlendsColourOfUpsampledMapOntoImage() {
    BufferedImage black = new BufferedImage(8, 4, BufferedImage.TYPE_INT_RGB);
    // low on the left half, high on the right half of a 1×2 map
    BufferedImage out = HeatMap.overlay(black, new double[][] {{0, 10}}, 0, 10, 0.5);
    assertEquals(8, out.getWidth());
    assertEquals(4, out.getHeight());
    assertEquals(0x000040, out.getRGB(0, 2) & 0xFFFFFF); // half of dark blue on black
    assertEquals(0x400000, out.getRGB(7, 2) & 0xFFFFFF); // half of dark red on black
    BufferedImage white = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
    white.setRGB(0, 0, 0xFFFFFF);
    BufferedImage none = HeatMap.overlay(white, new double[][] {{5}}, 0, 10, 0);
    assertEquals(0xFFFFFF, none.getRGB(0, 0) & 0xFFFFFF); // α = 0 leaves the image
  }

  @Test
  void raggedOrNonFiniteMapsAreRefused() {
    assertThrows(
        BadInputException.class,
        () -> new HeatMapPanel("x", "a.png", new double[][] {{1, 2}, {3}}));
    assertThrows(
        BadInputException.class,
        () -> new HeatMapPanel("x", "a.png", new double[][] {{1, Double.NaN}}));
    assertThrows(BadInputException.class, () -> new HeatMapPanel("x", "a.png", new double[0][]));
  }
}

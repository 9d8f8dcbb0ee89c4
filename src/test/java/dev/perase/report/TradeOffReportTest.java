package dev.perase.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The study's figures of issue 17 in a report: intervals beside the numbers, the paper's claim,
 * prompt following on the retain prompts and the trade-off chart with a sweep's polyline.
 */
class TradeOffReportTest {
  @TempDir Path tmp;

  private static TestBed bed() {
    List<Following> following =
        List.of(
            new Following("shape", 200, 0.1, new Bounds(0.06, 0.15)),
            new Following("color", 200, 0.9, new Bounds(0.85, 0.93)),
            new Following("style", 0, null, null));
    MethodRow base =
        new MethodRow(
            "base model",
            true,
            0.0,
            0.0,
            0.0,
            0.0,
            null,
            null,
            1700.0,
            new Bounds(0, 0.13),
            new Bounds(0, 0.56),
            null,
            new Bounds(0, 0),
            null,
            List.of());
    MethodRow pesd =
        new MethodRow(
            "P-ESD",
            false,
            0.85,
            1.0,
            null,
            4984.7,
            0.016,
            95.0,
            5519.9,
            new Bounds(0.6396, 0.9476),
            new Bounds(0.4385, 1),
            null,
            new Bounds(4500.04, 5600.96),
            null,
            following);
    TradeOff chart =
        new TradeOff(
            "Robustness against retain damage: red",
            "retain FD",
            "CER under UnlearnDiff",
            List.of(
                new TradeOff.Series("base model", null, List.of(new TradeOff.Point(0, 0, null))),
                new TradeOff.Series(
                    "P-ESD",
                    "learning rate",
                    List.of(
                        new TradeOff.Point(300, 0.2, "0.01"),
                        new TradeOff.Point(2000, 0.7, "0.03"),
                        new TradeOff.Point(4984.7, 1.0, "0.1"))),
                new TradeOff.Series("ESD", null, List.of(new TradeOff.Point(3160, 0.0, null)))));
    return new TestBed(
        "red",
        "red",
        "color",
        25,
        List.of(base, pesd),
        null,
        null,
        null,
        null,
        null,
        List.of("P-ESD vs ESD under UnlearnDiff: not decided at this size <sic>."),
        chart);
  }

  @Test
  void numbersCarryTheirIntervalsAndTheBedItsClaimFollowingAndChart() throws IOException {
    Path html = Report.write(new StudyReport("t", null, null, null, List.of(bed()), null), tmp);
    String page = Files.readString(html);

    assertTrue(page.contains("0.85 <span class=\"ci\">[0.64, 0.95]</span>"), "CER and Wilson");
    assertTrue(page.contains("4984.70 <span class=\"ci\">[4500.0, 5601.0]</span>"), "FD");
    assertTrue(page.contains("<td class=\"cer_p4d\">—</td>"), "no interval without a number");
    assertTrue(page.contains("<td class=\"following_shape\">0.10 <span class=\"ci\">[0.06, 0.15]"));
    assertTrue(page.contains("<td class=\"following_style\">—</td>"), "style not asked");
    assertTrue(page.contains("not decided at this size &lt;sic&gt;."), "the claim, escaped");
    Path chart = tmp.resolve(Report.CHARTS).resolve("bed-1-red-trade-off.png");
    assertTrue(page.contains("src=\"charts/bed-1-red-trade-off.png\""));
    BufferedImage img = ImageIO.read(chart.toFile());
    assertEquals(Charts.TRADE_OFF_WIDTH, img.getWidth());
    assertEquals(Charts.TRADE_OFF_HEIGHT, img.getHeight());

    StudyReport back = Json.read(tmp.resolve(Report.JSON), StudyReport.class);
    assertEquals(bed(), back.testBeds().get(0));
  }

  @Test
  void aTradeOffNeedsPointsAndFiniteValues() {
    assertThrows(BadInputException.class, () -> new TradeOff.Series("ESD", null, List.of()));
    assertThrows(BadInputException.class, () -> new TradeOff.Point(Double.NaN, 1, null));
    assertThrows(
        IllegalArgumentException.class,
        () -> Charts.tradeOff(new TradeOff("empty", "x", "y", List.of())));
  }
}

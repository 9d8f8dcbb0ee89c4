package dev.perase.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
class ReportTest {
  @TempDir Path tmp;

  static final String NASTY = "<script>alert(\"x\")</script> & 'q'";

  /** Two test beds with every kind of figure, numbers with nulls, and text that needs escaping. */
  private StudyReport study() throws IOException {
    Path images = Files.createDirectories(tmp.resolve("inputs"));
    List<List<String>> cells = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      List<String> row = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        Path p = images.resolve("r" + r + "c" + c + ".png");
        Images.writePng(p, ImageGridTest.cell(r, c, 32));
        row.add(p.toString());
      }
      cells.add(row);
    }
    GridFigure grid =
        new GridFigure(
            "Same prompts and seeds, with and without attack",
            "Caption " + NASTY,
            List.of("base", "ESD", "P-ESD"),
            List.of("a star", "a red star", "a star by Vortex", NASTY),
            cells,
            null);
    HeatMapFigure heat =
        new HeatMapFigure(
            "up_blocks.1.resnets.0, neuron 17",
            "prompt 'a star', step 30",
            List.of(
                new HeatMapPanel("base", cells.get(0).get(0), new double[][] {{0, 1}, {2, 3}}),
                new HeatMapPanel("ESD", cells.get(1).get(0), new double[][] {{0, 0}, {0, 1}}),
                new HeatMapPanel(
                    "ESD + UnlearnDiff", cells.get(1).get(1), new double[][] {{3, 2}, {1, 0}})),
            null,
            null);
    Sensitivity sensitivity =
        new Sensitivity(
            "12 prompt pairs",
            List.of(10, 20, 30, 40, 50),
            List.of(
                new SensitivitySeries(
                    "ESD",
                    "concept",
                    List.of(0.5, 0.6, 0.7, 0.8, 0.9),
                    List.of(0.1, 0.1, 0.1, 0.1, 0.1)),
                new SensitivitySeries("ESD", "non-concept", List.of(0.2, 0.2, 0.3, 0.3, 0.4), null),
                new SensitivitySeries("P-ESD", "concept", List.of(0.3, 0.3, 0.4, 0.5, 0.5), null),
                new SensitivitySeries(
                    "P-ESD", "non-concept", List.of(0.2, 0.2, 0.2, 0.3, 0.3), null)));
    PrunedWeights pruned =
        new PrunedWeights(
            "P-ESD",
            "non-cross-attn layers",
            List.of(
                new LayerPruning("down_blocks.0.resnets.0.conv1.weight", "resnet", 3, 9216),
                new LayerPruning(
                    "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                    "attn1",
                    12,
                    4096),
                new LayerPruning(
                    "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2.weight",
                    "ff",
                    0,
                    8192),
                new LayerPruning(
                    "mid_block.attentions.0.proj_out.weight", "proj_in/proj_out", 5, 4096)));
    List<MethodRow> rows =
        List.of(
            new MethodRow("base", true, 0.05, 0.02, 0.04, 0.0, null, null),
            new MethodRow("ESD", false, 0.8, 0.4, 0.39, 3.456, null, 812.4),
            new MethodRow("P-ESD", false, 0.95, 0.86, 0.82, 2.711, 1.27e-5, 95.0),
            new MethodRow("AC", false, 0.63, 0.17, null, 4.0, null, 7322.0),
            new MethodRow("P-AC " + NASTY, false, 0.949, 0.36, 0.42, 2.7149, 0.25, 12.25));
    TestBed star =
        new TestBed(
            "star",
            "a star",
            "object",
            20,
            rows,
            List.of(grid),
            List.of(heat),
            sensitivity,
            List.of(pruned),
            "Note " + NASTY);
    TestBed red =
        new TestBed(
            "red " + NASTY,
            "the colour red",
            "implicit",
            0,
            List.of(new MethodRow("ESD", false, null, null, null, null, null, null)),
            null,
            null,
            null,
            null,
            null);
    JsonNode config =
        Json.MAPPER.readTree(
            "{\"method\":\"p-esd\",\"mask\":{\"lr\":0.1,\"steps\":250},\"seeds\":[1,2],"
                + "\"prompt\":\""
                + NASTY.replace("\"", "\\\"")
                + "\"}");
    return new StudyReport(
        "World study " + NASTY,
        "All three test beds",
        "2026-01-02T03:04:05Z",
        List.of(new Setting("java", "17"), new Setting("perase", "0.1.0")),
        List.of(star, red),
        List.of(
            new Step("erase star P-ESD", "star", "out/star/p-esd", 95.0, Setting.flatten(config)),
            new Step("attack star", "star", null, null, List.of())));
  }

  @Test
  void htmlReferencesOnlyFilesThatExist() throws IOException {
    Path out = tmp.resolve("report");
    Path html = Report.write(study(), out);
    assertEquals(out.resolve(Report.HTML), html);
    assertTrue(Files.isRegularFile(out.resolve(Report.JSON)));
    String page = Files.readString(html);
    List<String> refs = Report.references(page);
    // the CER chart of the bed with CER (the other has none), sensitivity, one pruned chart, one
    // grid, three heat-map panels
    assertEquals(1 + 1 + 1 + 1 + 3, refs.size(), refs.toString());
    assertEquals(List.of(), Report.missingReferences(html));
    for (String ref : refs) {
      assertTrue(ref.startsWith("charts/") || ref.startsWith("images/"), ref);
    }
    assertFalse(page.contains("<script"), "no script in the page");
    assertFalse(page.contains("http:") || page.contains("https:"), "no network");
    // the check finds a file that went missing, and a reference out of the folder
    Files.delete(out.resolve(refs.get(3)));
    assertEquals(List.of(refs.get(3)), Report.missingReferences(html));
    assertEquals(
        List.of("../inputs/r0c0.png", "http://example.org/a.png"),
        Report.missingReferences(
            "<img src=\"../inputs/r0c0.png\"><a href=\"#x\"></a><img src=\"http://example.org/a.png\">",
            out));
  }

  @Test
  void tableNumbersEqualTheModelInReportJson() throws IOException {
    Path html = Report.write(study(), tmp.resolve("report"));
    String page = Files.readString(html);
    JsonNode json = Json.MAPPER.readTree(tmp.resolve("report").resolve(Report.JSON).toFile());
    JsonNode beds = json.get("test_beds");
    assertEquals(2, beds.size());
    int checked = 0;
    for (int b = 0; b < beds.size(); b++) {
      JsonNode bed = beds.get(b);
      List<List<String>> table = resultsTable(page, b + 1);
      assertEquals(bed.get("rows").size(), table.size(), "rows of test bed " + b);
      for (int r = 0; r < table.size(); r++) {
        JsonNode row = bed.get("rows").get(r);
        List<String> cells = table.get(r);
        assertEquals(row.get("method").asText(), unescape(cells.get(0)));
        List<String> keys = ReportPage.columnKeys();
        for (int k = 0; k < keys.size(); k++) {
          String key = keys.get(k);
          String shown = cells.get(k + 1).replace("<strong>", "").replace("</strong>", "");
          JsonNode v = row.get(key);
          if (v == null || v.isNull()) {
            assertEquals("—", shown, key + " of " + row.get("method"));
            continue;
          }
          double x = v.asDouble();
          switch (key) {
            case "cer_test", "cer_unlearndiff", "cer_p4d", "retain_fd" ->
                assertEquals(String.format(Locale.ROOT, "%.2f", x), shown, key);
            case "pruned_ratio" ->
                assertEquals(x, Double.parseDouble(shown), 0.005 * x, key + " shown " + shown);
            case "wall_seconds" ->
                // half the last unit shown: 0.05 s, 0.5 s or 30 s
                assertEquals(
                    x,
                    seconds(shown),
                    (shown.contains("h") ? 30 : shown.contains("min") ? 0.5 : 0.05) + 1e-9,
                    key + " shown " + shown);
            default -> throw new AssertionError("unexpected column " + key);
          }
          checked++;
        }
      }
    }
    assertEquals(25, checked, "non-null numbers compared");
  }

  @Test
  void bestErasedModelOfEachRankedColumnIsBold() throws IOException {
    String page = Files.readString(Report.write(study(), tmp.resolve("report")));
    List<List<String>> table = resultsTable(page, 1);
    // columns: method, cer_test, cer_unlearndiff, cer_p4d, retain_fd, retain_fd_rendered,
    // pruned_ratio, wall_seconds
    assertEquals("<strong>0.95</strong>", table.get(2).get(1), "P-ESD 0.95");
    assertEquals("<strong>0.95</strong>", table.get(4).get(1), "P-AC 0.949 shows as 0.95: a tie");
    assertEquals("0.80", table.get(1).get(1));
    assertEquals("<strong>0.86</strong>", table.get(2).get(2));
    assertEquals("<strong>0.82</strong>", table.get(2).get(3));
    assertEquals("<strong>2.71</strong>", table.get(2).get(4), "lowest Fréchet distance");
    assertEquals("<strong>2.71</strong>", table.get(4).get(4), "2.7149 shows as 2.71: a tie");
    assertEquals("0.00", table.get(0).get(4), "the base row is never bold");
    assertEquals("0.05", table.get(0).get(1));
    assertFalse(String.join("", table.get(2).subList(6, 8)).contains("strong"), "unranked");
    assertEquals("1.27e-5", table.get(2).get(6));
    assertEquals("13 min 32 s", table.get(1).get(7));
    assertEquals("2 h 02 min", table.get(3).get(7));
  }

  @Test
  void textFromTheModelIsEscaped() throws IOException {
    String page = Files.readString(Report.write(study(), tmp.resolve("report")));
    String escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
    assertFalse(page.contains(NASTY));
    assertFalse(page.contains("<script"));
    assertTrue(page.contains("<title>World study " + escaped + "</title>"));
    for (String where :
        List.of("Note ", "Caption ", "P-AC ", "Test bed: red ", "<td>" /* setting value */)) {
      assertTrue(page.contains(where + escaped), where);
    }
    // and the model keeps the text as it was
    JsonNode json = Json.MAPPER.readTree(tmp.resolve("report").resolve(Report.JSON).toFile());
    assertEquals("World study " + NASTY, json.get("title").asText());
  }

  @Test
  void chartsAreValidPngsOfTheExpectedSize() throws IOException {
    Path out = tmp.resolve("report");
    Report.write(study(), out);
    Set<String> charts = new HashSet<>();
    try (var files = Files.list(out.resolve(Report.CHARTS))) {
      files.forEach(p -> charts.add(p.getFileName().toString()));
    }
    assertEquals(
        Set.of("bed-1-star-cer.png", "bed-1-star-sensitivity.png", "bed-1-star-pruned-1-p-esd.png"),
        charts,
        "test bed 2 has no CER chart: none of its rows has a CER");
    assertPng(out.resolve("charts/bed-1-star-cer.png"), Charts.CER_WIDTH, Charts.CER_HEIGHT);
    assertPng(
        out.resolve("charts/bed-1-star-sensitivity.png"),
        Charts.SENSITIVITY_WIDTH,
        Charts.SENSITIVITY_HEIGHT);
    assertPng(
        out.resolve("charts/bed-1-star-pruned-1-p-esd.png"),
        Charts.prunedWidth(4),
        Charts.PRUNED_HEIGHT);
    // the grid: 3 × 4 images of 32 px, enlarged 4×, with labels
    BufferedImage grid = ImageIO.read(out.resolve("images/bed-1-star-grid-1.png").toFile());
    ImageGrid.Layout layout =
        ImageGrid.layout(
            3,
            4,
            128,
            128,
            List.of("base", "ESD", "P-ESD"),
            List.of("a star", "a red star", "a star by Vortex", NASTY));
    assertEquals(layout.width(), grid.getWidth());
    assertEquals(layout.height(), grid.getHeight());
    assertEquals(
        ImageGridTest.marker(2, 3),
        grid.getRGB(layout.cellX(3) + 7 * 4, layout.cellY(2) + 5 * 4) & 0xFFFFFF);
    assertPng(out.resolve("images/bed-1-star-neurons-1-2.png"), 128, 128);
  }

  @Test
  void chartWithManyLayersGrowsWide() {
    List<LayerPruning> layers = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      layers.add(
          new LayerPruning(
              "up_blocks.1.resnets." + i + ".conv1.weight",
              i % 3 == 0 ? "conv" : "linear",
              i,
              1000));
    }
    BufferedImage chart = Charts.prunedByLayer(new PrunedWeights("P-ESD", null, layers));
    assertEquals(160 + 18 * 100, chart.getWidth());
    assertEquals(Charts.PRUNED_HEIGHT, chart.getHeight());
    List<String> labels = new ArrayList<>(List.of("a", "b", "a", "a"));
    Charts.distinct(labels);
    assertEquals(List.of("a", "b", "a (2)", "a (3)"), labels);
    assertEquals(
        "d1.a0.t0.attn2.to_v",
        Charts.shortLayer("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight"));
  }

  @Test
  void reportJsonReadsBackAsTheSameModel() throws IOException {
    StudyReport study = study();
    Report.write(study, tmp.resolve("report"));
    Path json = tmp.resolve("report").resolve(Report.JSON);
    StudyReport back = Json.read(json, StudyReport.class);
    assertEquals(Json.MAPPER.valueToTree(study), Json.MAPPER.valueToTree(back));
    assertEquals(study.testBeds().get(0).rows(), back.testBeds().get(0).rows());
    assertEquals(
        List.of(
            new Setting("method", "p-esd"),
            new Setting("mask.lr", "0.1"),
            new Setting("mask.steps", "250"),
            new Setting("seeds", "[1, 2]"),
            new Setting("prompt", NASTY)),
        back.steps().get(0).settings());
  }

  @Test
  void missingImageFailsBeforeAnythingIsWritten() throws IOException {
    Path out = tmp.resolve("report");
    Path html = Report.write(study(), out);
    String before = Files.readString(html);
    StudyReport good = study();
    TestBed bed = good.testBeds().get(0);
    GridFigure broken =
        new GridFigure(
            "broken",
            null,
            null,
            null,
            List.of(List.of(tmp.resolve("inputs/missing.png").toString())),
            null);
    TestBed bad =
        new TestBed(
            bed.name(),
            bed.concept(),
            bed.kind(),
            bed.promptCount(),
            List.of(),
            List.of(broken),
            null,
            null,
            null,
            null);
    StudyReport changed = new StudyReport("changed", null, null, null, List.of(bad), null);
    BadInputException e = assertThrows(BadInputException.class, () -> Report.write(changed, out));
    assertTrue(e.getMessage().contains("missing.png"), e.getMessage());
    assertEquals(before, Files.readString(html), "the previous page is intact");
    assertEquals(List.of(), Report.missingReferences(html));
    assertEquals(
        "World study " + NASTY,
        Json.MAPPER.readTree(out.resolve(Report.JSON).toFile()).get("title").asText());
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertThrows(BadInputException.class, () -> Report.write(good, file));
  }

  @Test
  void badNumbersAreRefusedWithTheirName() {
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> new MethodRow("ESD", false, 1.5, null, null, null, null, null));
    assertTrue(e.getMessage().contains("cer_test"), e.getMessage());
    assertThrows(
        BadInputException.class,
        () -> new MethodRow("ESD", false, null, null, null, -1.0, null, null));
    assertThrows(
        BadInputException.class,
        () ->
            new Sensitivity(
                null,
                List.of(1, 2),
                List.of(new SensitivitySeries("ESD", "concept", List.of(1.0), null))));
    assertThrows(BadInputException.class, () -> new LayerPruning("l", "t", 5, 4));
  }

  /** The results table of test bed {@code n} (1-based): per row, the method then the cells. */
  private static List<List<String>> resultsTable(String page, int n) {
    Matcher t =
        Pattern.compile(
                "<table class=\"results\" id=\"results-bed-" + n + "-[^\"]*\">(.*?)</table>",
                Pattern.DOTALL)
            .matcher(page);
    assertTrue(t.find(), "results table of test bed " + n);
    String body = t.group(1).substring(t.group(1).indexOf("<tbody>"));
    List<List<String>> rows = new ArrayList<>();
    Matcher tr = Pattern.compile("<tr[^>]*>(.*?)</tr>", Pattern.DOTALL).matcher(body);
    Pattern cell = Pattern.compile("<t[hd][^>]*>(.*?)</t[hd]>", Pattern.DOTALL);
    while (tr.find()) {
      List<String> cells = new ArrayList<>();
      Matcher c = cell.matcher(tr.group(1));
      while (c.find()) {
        cells.add(c.group(1));
      }
      rows.add(cells);
    }
    return rows;
  }

  /** "12.3 s", "4 min 05 s", "1 h 02 min" as seconds. */
  private static double seconds(String shown) {
    Matcher m = Pattern.compile("(?:(\\d+) h )?(?:(\\d+) min)? ?(?:([\\d.]+) s)?").matcher(shown);
    assertTrue(m.matches(), shown);
    double s = 0;
    s += m.group(1) == null ? 0 : 3600 * Double.parseDouble(m.group(1));
    s += m.group(2) == null ? 0 : 60 * Double.parseDouble(m.group(2));
    s += m.group(3) == null ? 0 : Double.parseDouble(m.group(3));
    assertNotNull(shown);
    return s;
  }

  private static String unescape(String s) {
    return s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
  }

  private static void assertPng(Path file, int width, int height) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    assertEquals((byte) 0x89, bytes[0]);
    assertEquals("PNG", new String(bytes, 1, 3, StandardCharsets.US_ASCII), file.toString());
    BufferedImage img = ImageIO.read(file.toFile());
    assertNotNull(img, file + " decodes");
    assertEquals(width, img.getWidth(), file + " width");
    assertEquals(height, img.getHeight(), file + " height");
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < height; y += 3) {
      for (int x = 0; x < width; x += 3) {
        colours.add(img.getRGB(x, y));
      }
    }
    assertTrue(colours.size() > 3, file + " is not blank: " + colours.size() + " colours");
  }
}

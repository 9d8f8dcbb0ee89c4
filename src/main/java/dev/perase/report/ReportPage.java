package dev.perase.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The HTML of a report: one static page with inline CSS and no script, its pictures referenced by
 * relative paths. All text from the data model is escaped.
 */
final class ReportPage {
  /** A picture of the page: its path relative to the page and its size in pixels. */
  record Picture(String path, int width, int height) {}

  /** The pictures {@link Report} rendered for one test bed. */
  record BedPictures(
      String anchor,
      Picture cer,
      Picture tradeOff,
      Picture sensitivity,
      List<Picture> pruned,
      List<Picture> grids,
      List<List<Picture>> heatMaps) {}

  /**
   * A column of the results table: its key in report.json, its heading, its value and 95 % interval
   * (null when the column has none), how it is ranked and written.
   */
  private record Column(
      String key,
      String heading,
      Function<MethodRow, Double> value,
      Function<MethodRow, Bounds> bounds,
      Rank rank,
      Kind kind) {}

  private enum Rank {
    HIGHER,
    LOWER,
    NONE
  }

  /** How a column's numbers are written. */
  enum Kind {
    CER,
    FD,
    RATIO,
    SECONDS
  }

  private static final List<Column> COLUMNS =
      List.of(
          new Column(
              "cer_test",
              "Test prompts CER ↑",
              MethodRow::cerTest,
              MethodRow::cerTestBounds,
              Rank.HIGHER,
              Kind.CER),
          new Column(
              "cer_unlearndiff",
              "UnlearnDiff CER ↑",
              MethodRow::cerUnlearnDiff,
              MethodRow::cerUnlearnDiffBounds,
              Rank.HIGHER,
              Kind.CER),
          new Column(
              "cer_p4d",
              "P4D CER ↑",
              MethodRow::cerP4d,
              MethodRow::cerP4dBounds,
              Rank.HIGHER,
              Kind.CER),
          new Column(
              "retain_fd",
              "Retain FD ↓",
              MethodRow::retainFd,
              MethodRow::retainFdBounds,
              Rank.LOWER,
              Kind.FD),
          new Column(
              "retain_fd_rendered",
              "Retain FD vs rendered ↓",
              MethodRow::retainFdRendered,
              MethodRow::retainFdRenderedBounds,
              Rank.LOWER,
              Kind.FD),
          new Column(
              "pruned_ratio",
              "Pruned ratio",
              MethodRow::prunedRatio,
              r -> null,
              Rank.NONE,
              Kind.RATIO),
          new Column(
              "wall_seconds",
              "Erasing time",
              MethodRow::wallSeconds,
              r -> null,
              Rank.NONE,
              Kind.SECONDS));

  /** The attributes of the prompt-following table, in order, with their headings. */
  private static final List<List<String>> FOLLOWING =
      List.of(
          List.of("shape", "Shape ↑"), List.of("color", "Colour ↑"), List.of("style", "Style ↑"));

  /** The keys of the results table's number columns, in order (each cell has it as its class). */
  static List<String> columnKeys() {
    List<String> keys = new ArrayList<>();
    COLUMNS.forEach(c -> keys.add(c.key()));
    return keys;
  }

  private static final String CSS =
      """
      body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 24px auto;
             max-width: 1320px; padding: 0 16px; line-height: 1.4; }
      h1 { font-size: 26px; margin-bottom: 4px; }
      h2 { font-size: 21px; border-bottom: 2px solid #ccc; padding-bottom: 4px; margin-top: 40px; }
      h3 { font-size: 17px; margin-top: 28px; }
      .meta, .note, figcaption { color: #555; font-size: 14px; }
      nav ul { padding-left: 20px; }
      table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
      th, td { border: 1px solid #ccc; padding: 4px 10px; }
      thead th { background: #f2f2f2; }
      table.results td, table.counts td { text-align: right; font-variant-numeric: tabular-nums; }
      .ci { color: #777; font-size: 12px; white-space: nowrap; }
      table.results th[scope=row] { text-align: left; }
      table.results tr.base { color: #666; font-style: italic; }
      table.settings td { font-family: "DejaVu Sans Mono", monospace; font-size: 13px;
                          word-break: break-all; }
      img { max-width: 100%; height: auto; }
      img.pixels { image-rendering: pixelated; }
      figure { margin: 12px 0 24px 0; }
      .panels { display: flex; flex-wrap: wrap; gap: 12px; }
      .panel { text-align: center; font-size: 13px; }
      .panel img { display: block; }
      .scale { display: flex; align-items: center; gap: 8px; font-size: 13px; margin-top: 6px; }
      .scale .bar { display: inline-block; width: 240px; height: 12px; border: 1px solid #999; }
      """;

  private ReportPage() {}

  /** The whole page. {@code pictures} holds one entry per test bed, in order. */
  static String render(StudyReport report, List<BedPictures> pictures) {
    StringBuilder h = new StringBuilder(1 << 16);
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.append("<title>").append(escape(report.title())).append("</title>\n");
    h.append("<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
    h.append("<h1>").append(escape(report.title())).append("</h1>\n");
    if (report.created() != null) {
      h.append("<p class=\"meta\">").append(escape(report.created())).append("</p>\n");
    }
    if (report.description() != null) {
      h.append("<p>").append(escape(report.description())).append("</p>\n");
    }
    h.append("<nav><ul>\n");
    for (int i = 0; i < report.testBeds().size(); i++) {
      TestBed bed = report.testBeds().get(i);
      h.append("<li><a href=\"#").append(pictures.get(i).anchor()).append("\">Test bed: ");
      h.append(escape(bed.name())).append("</a></li>\n");
    }
    h.append("<li><a href=\"#steps\">Settings and timings</a></li>\n</ul></nav>\n");
    for (int i = 0; i < report.testBeds().size(); i++) {
      testBed(h, report.testBeds().get(i), pictures.get(i));
    }
    steps(h, report);
    h.append("<footer class=\"meta\"><p>Written by perase: a static page with no script;")
        .append(" every number in it is in report.json beside it.</p></footer>\n");
    h.append("</body>\n</html>\n");
    return h.toString();
  }

  private static void testBed(StringBuilder h, TestBed bed, BedPictures pics) {
    h.append("<section id=\"").append(pics.anchor()).append("\">\n");
    h.append("<h2>Test bed: ").append(escape(bed.name())).append("</h2>\n");
    h.append("<p>Erased concept: <strong>")
        .append(escape(bed.concept() == null ? bed.name() : bed.concept()))
        .append("</strong>");
    if (bed.kind() != null) {
      h.append(" (").append(escape(bed.kind())).append(")");
    }
    h.append("; ").append(bed.promptCount()).append(" test prompts.</p>\n");
    if (bed.note() != null) {
      h.append("<p class=\"note\">").append(escape(bed.note())).append("</p>\n");
    }

    h.append("<h3>Results</h3>\n");
    results(h, bed.rows(), "results-" + pics.anchor());
    claims(h, bed);
    if (!bed.sweep().isEmpty()) {
      h.append("<h4>Every point of the sweeps</h4>\n");
      results(h, bed.sweep(), "sweep-" + pics.anchor());
    }
    following(h, bed, pics.anchor());
    if (pics.tradeOff() != null) {
      h.append("<figure>\n");
      picture(h, pics.tradeOff(), bed.tradeOff().title(), "chart");
      h.append("<figcaption>Each method's robustness (y) against the damage to what it should")
          .append(" keep (x), one line per method through its runs (a sweep's points labelled by")
          .append(" the value of what it varies); up and to the left is better.</figcaption>\n")
          .append("</figure>\n");
    }
    if (pics.cer() != null) {
      picture(h, pics.cer(), "Concept erasure rate of each method", "chart");
    }

    if (!bed.grids().isEmpty()) {
      h.append("<h3>Images</h3>\n");
      for (int i = 0; i < bed.grids().size(); i++) {
        GridFigure g = bed.grids().get(i);
        h.append("<figure>\n<h4>").append(escape(g.title())).append("</h4>\n");
        picture(h, pics.grids().get(i), g.title(), "pixels");
        if (g.caption() != null) {
          h.append("<figcaption>").append(escape(g.caption())).append("</figcaption>\n");
        }
        h.append("</figure>\n");
      }
    }

    if (bed.sensitivity() != null) {
      h.append("<h3>Neuron sensitivity</h3>\n<figure>\n");
      picture(h, pics.sensitivity(), "Neuron sensitivity per denoising step", "chart");
      h.append("<figcaption>Sensitivity (Eq. 5) of concept and other neurons of each erased")
          .append(" model between a prompt and its adversarial version, per denoising step.");
      if (bed.sensitivity().caption() != null) {
        h.append(' ').append(escape(bed.sensitivity().caption()));
      }
      h.append("</figcaption>\n</figure>\n");
    }

    if (!bed.heatMaps().isEmpty()) {
      h.append("<h3>Concept neurons</h3>\n");
      for (int i = 0; i < bed.heatMaps().size(); i++) {
        heatMap(h, bed.heatMaps().get(i), pics.heatMaps().get(i));
      }
    }

    if (!bed.prunedWeights().isEmpty()) {
      h.append("<h3>Pruned weights by layer</h3>\n");
      for (int i = 0; i < bed.prunedWeights().size(); i++) {
        pruned(h, bed.prunedWeights().get(i), pics.pruned().get(i));
      }
    }
    h.append("</section>\n");
  }

  /** The results table: methods as rows, the best erased model of each ranked column in bold. */
  private static void results(StringBuilder h, List<MethodRow> rows, String id) {
    if (rows.isEmpty()) {
      h.append("<p class=\"note\">No results.</p>\n");
      return;
    }
    h.append("<table class=\"results\" id=\"").append(id).append("\">\n<thead><tr>");
    h.append("<th>Method</th>");
    for (Column c : COLUMNS) {
      h.append("<th>").append(escape(c.heading())).append("</th>");
    }
    h.append("</tr></thead>\n<tbody>\n");
    String[] best = new String[COLUMNS.size()];
    for (int j = 0; j < COLUMNS.size(); j++) {
      best[j] = best(rows, COLUMNS.get(j));
    }
    for (MethodRow row : rows) {
      h.append(row.base() ? "<tr class=\"base\">" : "<tr>");
      h.append("<th scope=\"row\">").append(escape(row.method())).append("</th>");
      for (int j = 0; j < COLUMNS.size(); j++) {
        Column c = COLUMNS.get(j);
        String text = format(c.kind(), c.value().apply(row));
        h.append("<td class=\"").append(c.key()).append("\">");
        if (!row.base() && best[j] != null && best[j].equals(text)) {
          h.append("<strong>").append(escape(text)).append("</strong>");
        } else {
          h.append(escape(text));
        }
        bounds(h, c.value().apply(row) == null ? null : c.bounds().apply(row), c.kind());
        h.append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</tbody>\n</table>\n");
    h.append("<p class=\"note\">CER: share of the prompts whose image the detector does not flag")
        .append(" (higher is better), on the test prompts and under the UnlearnDiff and P4D")
        .append(" attacks. Retain FD: Fréchet distance between the model's and the base model's")
        .append(" images of the retain prompts (lower is better); vs rendered: the same against")
        .append(" renderings of what the retain prompts ask for, the world's FID, which the base")
        .append(" model has too. Pruned ratio: pruned over masked")
        .append(" weights. Bold: the best erased model of the column. —: not measured or not")
        .append(" applicable. In brackets: 95 % intervals (Wilson's for a CER, a bootstrap over")
        .append(" the retain prompts for a distance).</p>\n");
  }

  /** A cell's interval after its number, in small grey type; nothing when there is none. */
  private static void bounds(StringBuilder h, Bounds b, Kind kind) {
    if (b != null) {
      h.append(" <span class=\"ci\">")
          .append(escape(b.text(kind == Kind.FD ? 1 : 2)))
          .append("</span>");
    }
  }

  /** The paper's claim tested on the bed, one sentence per comparison. */
  private static void claims(StringBuilder h, TestBed bed) {
    if (bed.claims().isEmpty()) {
      return;
    }
    h.append("<h4>The paper's claim: pruning resists attacks better than fine-tuning</h4>\n<ul>\n");
    for (String c : bed.claims()) {
      h.append("<li>").append(escape(c)).append("</li>\n");
    }
    h.append("</ul>\n<p class=\"note\">Holds when the 95 % interval of the difference of the")
        .append(" two CERs under the attack (Newcombe's) lies above 0, does not hold when it lies")
        .append(" below 0; otherwise not decided at this number of attacked prompts.</p>\n");
  }

  /** The retain prompt-following table: per model, the share of images that show what is asked. */
  private static void following(StringBuilder h, TestBed bed, String anchor) {
    if (bed.rows().stream().allMatch(r -> r.following().isEmpty())) {
      return;
    }
    h.append("<h4>Prompt following on the retain prompts</h4>\n");
    h.append("<table class=\"results\" id=\"following-").append(anchor).append("\">\n<thead><tr>");
    h.append("<th>Method</th>");
    for (List<String> a : FOLLOWING) {
      h.append("<th>").append(escape(a.get(1))).append("</th>");
    }
    h.append("</tr></thead>\n<tbody>\n");
    for (MethodRow row : bed.rows()) {
      h.append(row.base() ? "<tr class=\"base\">" : "<tr>");
      h.append("<th scope=\"row\">").append(escape(row.method())).append("</th>");
      for (List<String> a : FOLLOWING) {
        Following f = row.following(a.get(0));
        Double share = f == null ? null : f.share();
        h.append("<td class=\"following_").append(a.get(0)).append("\">");
        h.append(escape(format(Kind.CER, share)));
        bounds(h, share == null ? null : f.bounds(), Kind.CER);
        h.append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</tbody>\n</table>\n");
    h.append("<p class=\"note\">Share of each model's images of the retain prompts whose shape,")
        .append(" colour and style, as the detector sees them, are those the prompt asks for")
        .append(" (counted over the prompts that name the attribute). A model that no longer")
        .append(" follows prompts scores low here, whatever its CER.</p>\n");
  }

  /**
   * The best shown value of a ranked column among the erased models (base rows excluded), compared
   * as shown, so equal-looking values are bold together; null when fewer than two rows compete.
   */
  private static String best(List<MethodRow> rows, Column c) {
    if (c.rank() == Rank.NONE) {
      return null;
    }
    String bestText = null;
    double bestValue = 0;
    int competing = 0;
    for (MethodRow row : rows) {
      Double v = c.value().apply(row);
      if (row.base() || v == null) {
        continue;
      }
      competing++;
      String text = format(c.kind(), v);
      double shown = Double.parseDouble(text);
      boolean better = c.rank() == Rank.HIGHER ? shown > bestValue : shown < bestValue;
      if (bestText == null || better) {
        bestText = text;
        bestValue = shown;
      }
    }
    return competing >= 2 ? bestText : null;
  }

  private static void heatMap(StringBuilder h, HeatMapFigure fig, List<Picture> panels) {
    h.append("<figure>\n<h4>")
        .append(escape(fig.title()))
        .append("</h4>\n<div class=\"panels\">\n");
    for (int i = 0; i < panels.size(); i++) {
      HeatMapPanel p = fig.panels().get(i);
      h.append("<div class=\"panel\">");
      picture(h, panels.get(i), p.label(), "pixels");
      h.append("<span>").append(escape(p.label())).append("</span></div>\n");
    }
    h.append("</div>\n");
    double[] range = fig.range();
    h.append("<div class=\"scale\"><span>").append(escape(number(range[0]))).append("</span>");
    h.append("<span class=\"bar\" style=\"background: linear-gradient(to right");
    for (double t : new double[] {0, 0.125, 0.375, 0.625, 0.875, 1}) {
      h.append(String.format(Locale.ROOT, ", #%06x %.1f%%", HeatMap.color(t), 100 * t));
    }
    h.append(")\"></span><span>").append(escape(number(range[1]))).append("</span></div>\n");
    h.append("<figcaption>Activation of the concept neuron, upsampled to the image and drawn")
        .append(" from blue (low) to red (high) on one scale for all panels.");
    if (fig.caption() != null) {
      h.append(' ').append(escape(fig.caption()));
    }
    h.append("</figcaption>\n</figure>\n");
  }

  private static void pruned(StringBuilder h, PrunedWeights p, Picture chart) {
    h.append("<figure>\n");
    picture(h, chart, "Pruned weights by layer: " + p.method(), "chart");
    h.append("<figcaption>Each layer's share of all weights that ")
        .append(escape(p.method()))
        .append(" pruned, coloured by layer type.");
    if (p.caption() != null) {
      h.append(' ').append(escape(p.caption()));
    }
    h.append("</figcaption>\n</figure>\n");
    long pruned = p.prunedCount();
    long total = p.totalCount();
    h.append("<table class=\"counts\">\n<thead><tr><th>Layer</th><th>Type</th><th>Pruned</th>")
        .append("<th>Of</th><th>Ratio</th><th>Share of pruned</th></tr></thead>\n<tbody>\n");
    int silent = 0;
    for (LayerPruning l : p.layers()) {
      if (l.pruned() == 0) {
        silent++;
        continue;
      }
      h.append("<tr><th scope=\"row\" style=\"text-align:left\">")
          .append(escape(l.layer()))
          .append("</th><td style=\"text-align:left\">")
          .append(escape(l.type()))
          .append("</td><td>")
          .append(count(l.pruned()))
          .append("</td><td>")
          .append(count(l.total()))
          .append("</td><td>")
          .append(escape(format(Kind.RATIO, l.ratio())))
          .append("</td><td>")
          .append(String.format(Locale.ROOT, "%.1f %%", 100.0 * l.pruned() / pruned))
          .append("</td></tr>\n");
    }
    h.append("<tr><th scope=\"row\" style=\"text-align:left\">all masked layers</th><td></td><td>")
        .append(count(pruned))
        .append("</td><td>")
        .append(count(total))
        .append("</td><td>")
        .append(escape(format(Kind.RATIO, (double) pruned / total)))
        .append("</td><td></td></tr>\n</tbody>\n</table>\n");
    if (silent > 0) {
      h.append("<p class=\"note\">")
          .append(silent)
          .append(silent == 1 ? " masked layer" : " masked layers")
          .append(" with nothing pruned not listed.</p>\n");
    }
  }

  private static void steps(StringBuilder h, StudyReport report) {
    h.append("<section id=\"steps\">\n<h2>Settings and timings</h2>\n");
    if (!report.steps().isEmpty()) {
      h.append("<table class=\"counts\">\n<thead><tr><th>Step</th><th>Test bed</th>")
          .append("<th>Folder</th><th>Wall time</th></tr></thead>\n<tbody>\n");
      double sum = 0;
      for (int i = 0; i < report.steps().size(); i++) {
        Step s = report.steps().get(i);
        h.append("<tr><th scope=\"row\"><a href=\"#step-")
            .append(i + 1)
            .append("\">")
            .append(escape(s.name()))
            .append("</a></th><td style=\"text-align:left\">")
            .append(escape(s.testBed() == null ? "—" : s.testBed()))
            .append("</td><td style=\"text-align:left\">")
            .append(escape(s.folder() == null ? "—" : s.folder()))
            .append("</td><td>")
            .append(escape(format(Kind.SECONDS, s.wallSeconds())))
            .append("</td></tr>\n");
        sum += s.wallSeconds() == null ? 0 : s.wallSeconds();
      }
      h.append("<tr><th scope=\"row\">all steps</th><td></td><td></td><td>")
          .append(escape(format(Kind.SECONDS, sum)))
          .append("</td></tr>\n</tbody>\n</table>\n");
      for (int i = 0; i < report.steps().size(); i++) {
        Step s = report.steps().get(i);
        h.append("<h3 id=\"step-")
            .append(i + 1)
            .append("\">")
            .append(escape(s.name()))
            .append("</h3>\n");
        settings(h, s.settings());
      }
    }
    if (!report.environment().isEmpty()) {
      h.append("<h3 id=\"environment\">Environment</h3>\n");
      settings(h, report.environment());
    }
    h.append("</section>\n");
  }

  private static void settings(StringBuilder h, List<Setting> settings) {
    if (settings.isEmpty()) {
      h.append("<p class=\"note\">No settings recorded.</p>\n");
      return;
    }
    h.append("<table class=\"settings\">\n<tbody>\n");
    for (Setting s : settings) {
      h.append("<tr><th scope=\"row\" style=\"text-align:left\">")
          .append(escape(s.key()))
          .append("</th><td>")
          .append(escape(s.value()))
          .append("</td></tr>\n");
    }
    h.append("</tbody>\n</table>\n");
  }

  private static void picture(StringBuilder h, Picture p, String alt, String cssClass) {
    h.append("<img class=\"")
        .append(cssClass)
        .append("\" src=\"")
        .append(escape(p.path()))
        .append("\" width=\"")
        .append(p.width())
        .append("\" height=\"")
        .append(p.height())
        .append("\" alt=\"")
        .append(escape(alt))
        .append("\">\n");
  }

  /**
   * A number as the results table writes it; null is "—". CER: two decimals (the paper's tables).
   * Fréchet distance: two decimals. Ratio: four decimals, or three significant digits in E notation
   * below 0.01 (the paper's pruned ratios are about 1e-5). Seconds: "12.3 s", "4 min 05 s", "1 h 02
   * min".
   */
  static String format(Kind kind, Double v) {
    if (v == null) {
      return "—";
    }
    double x = v;
    return switch (kind) {
      case CER, FD -> String.format(Locale.ROOT, "%.2f", x);
      case RATIO -> ratio(x);
      case SECONDS -> seconds(x);
    };
  }

  private static String ratio(double x) {
    if (x == 0 || x >= 0.01) {
      return String.format(Locale.ROOT, "%.4f", x);
    }
    String[] parts = String.format(Locale.ROOT, "%.2e", x).split("e");
    return parts[0] + "e" + Integer.parseInt(parts[1]); // 1.27e-05 → 1.27e-5
  }

  private static String seconds(double s) {
    if (s < 59.95) {
      return String.format(Locale.ROOT, "%.1f s", s);
    }
    long t = Math.round(s);
    if (t < 3600) {
      return String.format(Locale.ROOT, "%d min %02d s", t / 60, t % 60);
    }
    long minutes = Math.round(s / 60);
    return String.format(Locale.ROOT, "%d h %02d min", minutes / 60, minutes % 60);
  }

  private static String number(double v) {
    return String.format(Locale.ROOT, "%.3g", v);
  }

  private static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  /** Text for HTML content and attribute values: {@code & < > " '} as character references. */
  static String escape(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(ch);
      }
    }
    return b.toString();
  }
}

package dev.perase.report;

import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a study's report: a self-contained folder with {@code report.html} (inline CSS, no script,
 * no network), its charts under {@code charts/}, its image grids and heat maps under {@code
 * images/}, and the data model as {@code report.json}.
 *
 * <p>Every picture is rendered in memory first, so bad input (a missing image, images of different
 * sizes) fails before anything is written. Each file is then written under a temporary name and
 * renamed into place, and the page comes last, after a check that every file it references is
 * there: a failed run leaves the previous page and what it shows intact.
 */
public final class Report {
  public static final String HTML = "report.html";
  public static final String JSON = "report.json";
  public static final String IMAGES = "images";
  public static final String CHARTS = "charts";

  private static final Pattern REFERENCE =
      Pattern.compile("\\b(?:src|href)\\s*=\\s*\"([^\"]*)\"", Pattern.CASE_INSENSITIVE);

  private Report() {}

  /**
   * Renders and writes a report into {@code outDir} (created if needed) and returns the path of its
   * {@code report.html}.
   */
  public static Path write(StudyReport report, Path outDir) {
    if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
      throw new BadInputException("the report folder " + outDir + " is a file");
    }
    // 1. render every picture in memory
    Map<String, BufferedImage> files = new LinkedHashMap<>();
    List<ReportPage.BedPictures> pictures = new ArrayList<>();
    for (int i = 0; i < report.testBeds().size(); i++) {
      TestBed bed = report.testBeds().get(i);
      String anchor = "bed-" + (i + 1) + "-" + slug(bed.name());
      pictures.add(render(bed, anchor, files));
    }
    // 2. the page, checked against the pictures it will stand beside
    String html = ReportPage.render(report, pictures);
    List<String> missing = new ArrayList<>();
    for (String ref : references(html)) {
      if (!files.containsKey(ref)) {
        missing.add(ref);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "the report page references files it does not write: " + missing);
    }
    // 3. pictures, data, then the page
    for (Map.Entry<String, BufferedImage> e : files.entrySet()) {
      Images.writePng(outDir.resolve(e.getKey()), e.getValue());
    }
    Json.write(outDir.resolve(JSON), report);
    missing = missingReferences(html, outDir);
    if (!missing.isEmpty()) {
      throw new IllegalStateException("report files missing after writing: " + missing);
    }
    Path page = outDir.resolve(HTML);
    AtomicFile.writeString(page, html);
    return page;
  }

  /**
   * The references of a written page that do not resolve to a file inside its folder: missing
   * files, paths that leave the folder, and anything with a scheme ({@code http:}, {@code file:},
   * {@code data:}), which a self-contained page must not have. Empty for a good report.
   */
  public static List<String> missingReferences(Path html) {
    try {
      return missingReferences(
          Files.readString(html, StandardCharsets.UTF_8), html.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + html, e);
    }
  }

  static List<String> missingReferences(String html, Path folder) {
    Path root = folder.toAbsolutePath().normalize();
    List<String> missing = new ArrayList<>();
    for (String ref : references(html)) {
      boolean bad = ref.isEmpty() || ref.contains(":") || ref.startsWith("/");
      if (!bad) {
        Path p = root.resolve(ref).normalize();
        bad = !p.startsWith(root) || !Files.isRegularFile(p);
      }
      if (bad) {
        missing.add(ref);
      }
    }
    return missing;
  }

  /** The {@code src} and {@code href} targets of a page, unescaped, without in-page anchors. */
  static List<String> references(String html) {
    List<String> refs = new ArrayList<>();
    Matcher m = REFERENCE.matcher(html);
    while (m.find()) {
      String ref = unescape(m.group(1));
      if (!ref.startsWith("#")) {
        refs.add(ref);
      }
    }
    return refs;
  }

  /** Renders one test bed's charts and images into {@code files} (relative path → image). */
  private static ReportPage.BedPictures render(
      TestBed bed, String anchor, Map<String, BufferedImage> files) {
    ReportPage.Picture cer =
        Charts.hasCer(bed) ? put(files, CHARTS + "/" + anchor + "-cer.png", Charts.cer(bed)) : null;
    ReportPage.Picture tradeOff =
        bed.tradeOff() == null || bed.tradeOff().isEmpty()
            ? null
            : put(files, CHARTS + "/" + anchor + "-trade-off.png", Charts.tradeOff(bed.tradeOff()));
    ReportPage.Picture sensitivity =
        bed.sensitivity() == null
            ? null
            : put(
                files,
                CHARTS + "/" + anchor + "-sensitivity.png",
                Charts.sensitivity(bed.sensitivity()));
    List<ReportPage.Picture> pruned = new ArrayList<>();
    for (int j = 0; j < bed.prunedWeights().size(); j++) {
      PrunedWeights p = bed.prunedWeights().get(j);
      String name =
          String.format(
              Locale.ROOT, "%s/%s-pruned-%d-%s.png", CHARTS, anchor, j + 1, slug(p.method()));
      pruned.add(put(files, name, Charts.prunedByLayer(p)));
    }
    List<ReportPage.Picture> grids = new ArrayList<>();
    for (int j = 0; j < bed.grids().size(); j++) {
      String name = String.format(Locale.ROOT, "%s/%s-grid-%d.png", IMAGES, anchor, j + 1);
      grids.add(put(files, name, ImageGrid.render(bed.grids().get(j))));
    }
    List<List<ReportPage.Picture>> heatMaps = new ArrayList<>();
    for (int j = 0; j < bed.heatMaps().size(); j++) {
      HeatMapFigure fig = bed.heatMaps().get(j);
      double[] range = fig.range();
      List<ReportPage.Picture> panels = new ArrayList<>();
      for (int k = 0; k < fig.panels().size(); k++) {
        HeatMapPanel panel = fig.panels().get(k);
        BufferedImage image = Images.toBuffered(dev.perase.io.Png.read(Path.of(panel.image())));
        int scale = GridFigure.autoScale(Math.max(image.getWidth(), image.getHeight()));
        BufferedImage overlay =
            HeatMap.overlay(
                Images.upscale(image, scale), panel.map(), range[0], range[1], HeatMap.ALPHA);
        String name =
            String.format(Locale.ROOT, "%s/%s-neurons-%d-%d.png", IMAGES, anchor, j + 1, k + 1);
        panels.add(put(files, name, overlay));
      }
      heatMaps.add(panels);
    }
    return new ReportPage.BedPictures(anchor, cer, tradeOff, sensitivity, pruned, grids, heatMaps);
  }

  private static ReportPage.Picture put(
      Map<String, BufferedImage> files, String path, BufferedImage image) {
    files.put(path, image);
    return new ReportPage.Picture(path, image.getWidth(), image.getHeight());
  }

  /** A name as a file-name and anchor part: lower-case letters and digits joined by '-'. */
  static String slug(String name) {
    String s = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    s = s.replaceAll("^-+|-+$", "");
    if (s.length() > 40) {
      s = s.substring(0, 40).replaceAll("-+$", "");
    }
    return s.isEmpty() ? "x" : s;
  }

  private static String unescape(String s) {
    return s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
  }
}

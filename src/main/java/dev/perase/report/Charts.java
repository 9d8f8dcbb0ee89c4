package dev.perase.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.Styler.LegendPosition;

/**
 * The report's charts, drawn by XChart into images (headless): concept erasure rate per method,
 * robustness against retain damage per method ({@link TradeOff}), neuron sensitivity per denoising
 * step (the paper's Figs. 2 and 5), pruned weights by layer (Fig. 6(b-c)).
 */
public final class Charts {
  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  public static final int CER_WIDTH = 800;
  public static final int CER_HEIGHT = 420;
  public static final int SENSITIVITY_WIDTH = 900;
  public static final int SENSITIVITY_HEIGHT = 450;
  public static final int PRUNED_HEIGHT = 560;
  public static final int TRADE_OFF_WIDTH = 800;
  public static final int TRADE_OFF_HEIGHT = 500;

  /** Test prompts, UnlearnDiff, P4D. */
  private static final Color[] CER_COLORS = {
    new Color(0x7F8C8D), new Color(0xE67E22), new Color(0x8E44AD)
  };

  /** One hue per method; its concept neurons dark, the other neurons light. */
  private static final Color[] METHOD_COLORS = {
    new Color(0xC0392B),
    new Color(0x2471A3),
    new Color(0x229954),
    new Color(0x7D3C98),
    new Color(0xB9770E),
    new Color(0x17A589)
  };

  /** One colour per layer type, in order of first appearance. */
  private static final Color[] TYPE_COLORS = {
    new Color(0x1F77B4), new Color(0xFF7F0E), new Color(0x2CA02C), new Color(0xD62728),
    new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x7F7F7F),
    new Color(0xBCBD22), new Color(0x17BECF)
  };

  private Charts() {}

  /** The width of a pruned-by-layer chart: 18 px per layer, at least 800. */
  public static int prunedWidth(int layers) {
    return Math.max(800, 160 + 18 * layers);
  }

  /**
   * Concept erasure rate of each method of a test bed on the test prompts and under UnlearnDiff and
   * P4D; a value not measured draws no bar.
   */
  public static BufferedImage cer(TestBed bed) {
    CategoryChart chart = chart(CER_WIDTH, CER_HEIGHT, "Concept erasure rate: " + bed.name());
    chart.setYAxisTitle("CER (higher is better)");
    chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setYAxisDecimalPattern("0.0");
    chart.getStyler().setSeriesColors(CER_COLORS);
    // ten methods side by side: upright names run into each other (FMNPRE-PRUNEPOST-PRUNE)
    chart.getStyler().setXAxisLabelRotation(45);
    List<String> methods = new ArrayList<>();
    List<Double> test = new ArrayList<>();
    List<Double> unlearnDiff = new ArrayList<>();
    List<Double> p4d = new ArrayList<>();
    for (MethodRow row : bed.rows()) {
      methods.add(shorten(row.method(), 18));
      test.add(row.cerTest());
      unlearnDiff.add(row.cerUnlearnDiff());
      p4d.add(row.cerP4d());
    }
    if (!hasCer(bed)) {
      throw new IllegalArgumentException("test bed " + bed.name() + " has no CER to chart");
    }
    distinct(methods);
    chart.addSeries("test prompts", methods, test);
    chart.addSeries("UnlearnDiff", methods, unlearnDiff);
    chart.addSeries("P4D", methods, p4d);
    return BitmapEncoder.getBufferedImage(chart);
  }

  /** Whether any row of a test bed has a CER, on the test prompts or under an attack. */
  public static boolean hasCer(TestBed bed) {
    for (MethodRow row : bed.rows()) {
      if (row.cerTest() != null || row.cerUnlearnDiff() != null || row.cerP4d() != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * Neuron sensitivity (Eq. 5) per denoising step: one group of bars per step, one bar per (method,
   * neurons) series, with its standard deviation as an error bar where given.
   */
  public static BufferedImage sensitivity(Sensitivity s) {
    CategoryChart chart =
        chart(SENSITIVITY_WIDTH, SENSITIVITY_HEIGHT, "Neuron sensitivity under attack");
    chart.setXAxisTitle("denoising step");
    chart.setYAxisTitle("sensitivity |a(c) − a(c_adv)|");
    chart.getStyler().setYAxisMin(0.0).setYAxisDecimalPattern("0.00");
    List<String> steps = new ArrayList<>();
    for (int step : s.steps()) {
      steps.add(Integer.toString(step));
    }
    Map<String, Integer> methodIndex = new LinkedHashMap<>();
    Color[] colors = new Color[s.series().size()];
    boolean anyStd = false;
    for (int i = 0; i < s.series().size(); i++) {
      SensitivitySeries series = s.series().get(i);
      int m = methodIndex.computeIfAbsent(series.method(), k -> methodIndex.size());
      Color base = METHOD_COLORS[m % METHOD_COLORS.length];
      colors[i] = series.neurons().startsWith("concept") ? base : lighter(base);
      anyStd |= series.std() != null;
    }
    chart.getStyler().setSeriesColors(colors);
    chart.getStyler().setErrorBarsColor(Color.DARK_GRAY);
    for (SensitivitySeries series : s.series()) {
      // XChart draws error bars for all series or none: a series without them gets zeros
      List<Double> std = series.std() != null ? series.std() : zeros(series.mean().size());
      if (anyStd) {
        chart.addSeries(series.label(), steps, series.mean(), std);
      } else {
        chart.addSeries(series.label(), steps, series.mean());
      }
    }
    return BitmapEncoder.getBufferedImage(chart);
  }

  /**
   * Robustness against retain damage ({@link TradeOff}): one line with markers per method through
   * its points in the given order, each point with its knob value beside it; y from 0 to 1 when it
   * is a rate.
   */
  public static BufferedImage tradeOff(TradeOff t) {
    if (t.isEmpty()) {
      throw new IllegalArgumentException("trade-off chart '" + t.title() + "' has no points");
    }
    XYChart chart =
        new XYChartBuilder()
            .width(TRADE_OFF_WIDTH)
            .height(TRADE_OFF_HEIGHT)
            .title(t.title())
            .xAxisTitle(t.xLabel())
            .yAxisTitle(t.yLabel())
            .build();
    style(chart.getStyler());
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    chart.getStyler().setMarkerSize(9);
    chart.getStyler().setXAxisMin(0.0);
    boolean rate = true;
    double maxX = 0;
    for (TradeOff.Series s : t.series()) {
      for (TradeOff.Point p : s.points()) {
        rate &= p.y() >= 0 && p.y() <= 1;
        maxX = Math.max(maxX, p.x());
      }
    }
    if (rate) {
      chart.getStyler().setYAxisMin(-0.02).setYAxisMax(1.02).setYAxisDecimalPattern("0.0");
    }
    if (maxX == 0) {
      chart.getStyler().setXAxisMax(1.0);
    }
    Color[] colors = new Color[t.series().size()];
    for (int i = 0; i < colors.length; i++) {
      colors[i] = TYPE_COLORS[i % TYPE_COLORS.length];
    }
    chart.getStyler().setSeriesColors(colors);
    List<String> names = new ArrayList<>();
    for (TradeOff.Series s : t.series()) {
      names.add(s.knob() == null ? s.method() : s.method() + " (" + s.knob() + ")");
    }
    distinct(names);
    for (int i = 0; i < t.series().size(); i++) {
      TradeOff.Series s = t.series().get(i);
      double[] x = new double[s.points().size()];
      double[] y = new double[x.length];
      for (int k = 0; k < x.length; k++) {
        TradeOff.Point p = s.points().get(k);
        x[k] = p.x();
        y[k] = p.y();
        if (p.label() != null) {
          chart.addAnnotation(new AnnotationText(p.label(), p.x(), p.y(), false));
        }
      }
      chart.addSeries(names.get(i), x, y);
    }
    chart.getStyler().setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    return BitmapEncoder.getBufferedImage(chart);
  }

  /**
   * Each layer's share of all pruned weights (Fig. 6(b-c)), one bar per layer in model order,
   * coloured by layer type; layer names shortened ({@link #shortLayer}).
   */
  public static BufferedImage prunedByLayer(PrunedWeights p) {
    int n = p.layers().size();
    long total = p.prunedCount();
    CategoryChart chart =
        chart(
            prunedWidth(n),
            PRUNED_HEIGHT,
            String.format(
                java.util.Locale.ROOT,
                "Pruned weights by layer: %s (%,d pruned)",
                p.method(),
                total));
    chart.setYAxisTitle("share of pruned weights (%)");
    chart.getStyler().setYAxisMin(0.0).setXAxisLabelRotation(90);
    // stacked: each layer has one non-zero series, so its bar sits centred on its label
    chart.getStyler().setStacked(true).setAvailableSpaceFill(0.8);
    if (total == 0) {
      chart.getStyler().setYAxisMax(1.0);
    }
    List<String> layers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      layers.add(shortLayer(p.layers().get(i).layer()));
    }
    distinct(layers);
    Map<String, List<Double>> byType = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      LayerPruning l = p.layers().get(i);
      List<Double> values = byType.computeIfAbsent(l.type(), k -> zeros(n));
      values.set(i, total == 0 ? 0.0 : 100.0 * l.pruned() / total);
    }
    Color[] colors = new Color[byType.size()];
    for (int i = 0; i < colors.length; i++) {
      colors[i] = TYPE_COLORS[i % TYPE_COLORS.length];
    }
    chart.getStyler().setSeriesColors(colors);
    for (Map.Entry<String, List<Double>> e : byType.entrySet()) {
      chart.addSeries(e.getKey(), layers, e.getValue());
    }
    return BitmapEncoder.getBufferedImage(chart);
  }

  /**
   * A diffusers key shortened for an axis label: {@code down_blocks.1.attentions.0
   * .transformer_blocks.0.attn2.to_v.weight} → {@code d1.a0.t0.attn2.to_v}.
   */
  public static String shortLayer(String key) {
    String s = key.replaceAll("\\.(weight|bias)$", "");
    s = s.replace("down_blocks.", "d").replace("up_blocks.", "u").replace("mid_block.", "m.");
    s = s.replace("attentions.", "a").replace("transformer_blocks.", "t");
    s = s.replace("resnets.", "r").replace("downsamplers.", "ds").replace("upsamplers.", "us");
    return s.length() <= 36 ? s : s.substring(0, 16) + "…" + s.substring(s.length() - 19);
  }

  /** A label cut to {@code max} characters, ending in "…" when cut. */
  static String shorten(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  /** Makes category labels distinct by numbering repeats ("x", "x (2)"): bars never share one. */
  static void distinct(List<String> labels) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < labels.size(); i++) {
      String label = labels.get(i);
      int n = seen.merge(label, 1, Integer::sum);
      if (n > 1) {
        labels.set(i, label + " (" + n + ")");
      }
    }
  }

  private static CategoryChart chart(int width, int height, String title) {
    CategoryChart chart =
        new CategoryChartBuilder().width(width).height(height).title(title).build();
    style(chart.getStyler());
    chart.getStyler().setPlotGridVerticalLinesVisible(false);
    return chart;
  }

  /** The report's look for every chart: white, no borders, legend to the right. */
  private static void style(Styler styler) {
    styler.setChartBackgroundColor(Color.WHITE);
    styler.setPlotBackgroundColor(Color.WHITE);
    styler.setPlotBorderVisible(false);
    styler.setLegendPosition(LegendPosition.OutsideE);
    styler.setLegendBorderColor(Color.WHITE);
    styler.setChartTitleBoxBackgroundColor(Color.WHITE);
    styler.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    styler.setAntiAlias(true);
  }

  private static Color lighter(Color c) {
    // halfway to white
    return new Color((c.getRed() + 255) / 2, (c.getGreen() + 255) / 2, (c.getBlue() + 255) / 2);
  }

  private static List<Double> zeros(int n) {
    List<Double> z = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      z.add(0.0);
    }
    return z;
  }
}

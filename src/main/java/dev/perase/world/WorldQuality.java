package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.eval.FrechetDistance;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * How well the world's model draws what it is asked for: on held-out prompts from the grammar (one
 * image each), the share where the detector agrees with the prompt's shape, colour (also counted
 * over the prompts that name the colour only by a synonym) and style; and the Fréchet distance
 * between the detector's penultimate features of generated and freshly rendered images (the world's
 * FID baseline).
 */
public final class WorldQuality {
  /**
   * Settings: prompts scored, images for the Fréchet distance, sampler steps, guidance, batch,
   * seed.
   */
  public record Settings(
      int prompts, int fidImages, int steps, float guidance, int batch, long seed) {
    public static Settings defaults() {
      return new Settings(300, 1000, 25, (float) PromptSetSettings.DEFAULT_GUIDANCE, 25, 424242);
    }
  }

  /** Measured agreement (shares in [0, 1]) and the Fréchet distance. */
  public record Report(
      int prompts,
      double shape,
      double color,
      double colorBySynonym,
      int synonymPrompts,
      double style,
      int fidImages,
      double frechetDistance,
      int steps,
      float guidance,
      double seconds,
      int[][] shapeConfusion,
      int[][] styleConfusion) {
    /** Agreement per asked shape and style, and what the detector saw most often instead. */
    public String describePerLabel() {
      StringBuilder b = new StringBuilder();
      b.append(perLabel("shape", shapeConfusion, WorldShape.values()));
      b.append(perLabel("style", styleConfusion, TextureStyle.values()));
      return b.toString();
    }

    private static String perLabel(String kind, int[][] confusion, Enum<?>[] labels) {
      StringBuilder b = new StringBuilder(kind + " asked → agreed/asked (seen most instead):");
      for (int asked = 0; asked < labels.length; asked++) {
        int total = 0;
        int worst = -1;
        for (int seen = 0; seen < labels.length; seen++) {
          total += confusion[asked][seen];
          if (seen != asked && (worst < 0 || confusion[asked][seen] > confusion[asked][worst])) {
            worst = seen;
          }
        }
        b.append(
            String.format(
                Locale.ROOT,
                " %s %d/%d",
                labels[asked].name().toLowerCase(Locale.ROOT),
                confusion[asked][asked],
                total));
        if (worst >= 0 && confusion[asked][worst] > 0) {
          b.append(" (")
              .append(labels[worst].name().toLowerCase(Locale.ROOT))
              .append(' ')
              .append(confusion[asked][worst])
              .append(')');
        }
        b.append(asked + 1 < labels.length ? ";" : "");
      }
      return b.append(System.lineSeparator()).toString();
    }

    public String describe() {
      return String.format(
          Locale.ROOT,
          "world model on %d held-out prompts (DDIM %d steps, guidance %.1f): detector agrees on shape"
              + " %.1f %%, colour %.1f %% (%.1f %% of the %d prompts naming the colour only by a synonym),"
              + " style %.1f %%%nFréchet distance (detector features), %d generated vs %d rendered"
              + " images: %.3f%n%.0f s%n",
          prompts,
          steps,
          guidance,
          100 * shape,
          100 * color,
          100 * colorBySynonym,
          synonymPrompts,
          100 * style,
          fidImages,
          fidImages,
          frechetDistance,
          seconds);
    }
  }

  private WorldQuality() {}

  /** A held-out prompt with its true labels and image seed. */
  private record Case(String prompt, Labels labels, long seed) {}

  private static List<Case> cases(int n, long seed) {
    List<Case> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + i);
      Labels l = WorldRenderer.randomLabels(rng);
      out.add(new Case(CaptionGrammar.caption(l, rng), l, rng.nextInt(1 << 30)));
    }
    return out;
  }

  /**
   * Generates {@code max(prompts, fidImages)} images, scores the first {@code prompts}, and writes
   * a captioned sheet of the first 64 to {@code samplesPng} (when not null).
   */
  public static Report run(
      StableDiffusion sd,
      WorldDetector detector,
      Settings s,
      Path samplesPng,
      IntConsumer onImages) {
    long t0 = System.nanoTime();
    int n = Math.max(s.prompts(), s.fidImages());
    List<Case> cases = cases(n, s.seed());
    int[] agree = new int[4];
    int[][] shapeConfusion = new int[WorldShape.values().length][WorldShape.values().length];
    int[][] styleConfusion = new int[TextureStyle.values().length][TextureStyle.values().length];
    int synonym = 0;
    List<float[]> sheet = new ArrayList<>();
    List<String> sheetCaptions = new ArrayList<>();
    double[][] genFeatures = new double[s.fidImages()][];
    double[][] realFeatures = new double[s.fidImages()][];
    NDManager base = detector.params().named().values().iterator().next().value().getManager();
    for (int start = 0; start < n; start += s.batch()) {
      int end = Math.min(n, start + s.batch());
      List<String> prompts = new ArrayList<>();
      long[] seeds = new long[end - start];
      for (int i = start; i < end; i++) {
        prompts.add(cases.get(i).prompt());
        seeds[i - start] = cases.get(i).seed();
      }
      try (NDManager m = Torch.newManager()) {
        NDArray images = sd.generateRows(prompts, seeds, s.guidance(), s.steps(), 32, 32, m);
        images = images.clip(-1f, 1f);
        // rendered counterparts: same labels, a fresh placement
        float[] rendered = new float[(end - start) * 3 * 32 * 32];
        for (int i = start; i < end; i++) {
          SplittableRandom rng = new SplittableRandom(cases.get(i).seed());
          float[] img =
              WorldRenderer.render(cases.get(i).labels(), WorldRenderer.randomPlacement(rng));
          System.arraycopy(img, 0, rendered, (i - start) * img.length, img.length);
        }
        NDArray real = m.create(rendered, images.getShape());
        try (StepScope scope = StepScope.open(base, detector.arrays())) {
          WorldDetector.Logits l = detector.forward(images);
          int[] ps = DetectorTrainer.argmax(l.shape());
          int[] pc = DetectorTrainer.argmax(l.color());
          int[] pt = DetectorTrainer.argmax(l.style());
          float[] gf = detector.features(images).toFloatArray();
          float[] rf = detector.features(real).toFloatArray();
          int dim = gf.length / (end - start);
          for (int i = start; i < end; i++) {
            int k = i - start;
            Case c = cases.get(i);
            if (i < s.prompts()) {
              agree[0] += ps[k] == c.labels().shape().ordinal() ? 1 : 0;
              boolean colorOk = pc[k] == c.labels().color().ordinal();
              agree[1] += colorOk ? 1 : 0;
              agree[3] += pt[k] == c.labels().style().ordinal() ? 1 : 0;
              shapeConfusion[c.labels().shape().ordinal()][ps[k]]++;
              styleConfusion[c.labels().style().ordinal()][pt[k]]++;
              if (!WorldText.pieces(c.prompt()).contains(c.labels().color().concept().ownWord())) {
                synonym++;
                agree[2] += colorOk ? 1 : 0;
              }
            }
            if (i < s.fidImages()) {
              genFeatures[i] = toDouble(gf, k * dim, dim);
              realFeatures[i] = toDouble(rf, k * dim, dim);
            }
            if (sheet.size() < 64) {
              sheet.add(images.get(k).toFloatArray());
              sheetCaptions.add(c.prompt());
            }
          }
        }
      }
      if (onImages != null) {
        onImages.accept(end);
      }
    }
    if (samplesPng != null) {
      WorldImages.writePng(samplesPng, WorldImages.captionedGrid(sheet, sheetCaptions, 8, 3, 150));
    }
    double fd = FrechetDistance.of(genFeatures, realFeatures).distance();
    int p = s.prompts();
    return new Report(
        p,
        (double) agree[0] / p,
        (double) agree[1] / p,
        synonym == 0 ? Double.NaN : (double) agree[2] / synonym,
        synonym,
        (double) agree[3] / p,
        s.fidImages(),
        fd,
        s.steps(),
        s.guidance(),
        (System.nanoTime() - t0) / 1e9,
        shapeConfusion,
        styleConfusion);
  }

  private static double[] toDouble(float[] src, int from, int len) {
    double[] d = new double[len];
    for (int i = 0; i < len; i++) {
      d[i] = src[from + i];
    }
    return d;
  }
}

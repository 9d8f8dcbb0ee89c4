package dev.perase.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.model.nn.Param;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.model.unet.UNetFlops;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Micro-benchmark of a model folder: medians of one UNet forward, one UNet forward+backward (all
 * UNet weights trainable) and one full generation, with the UNet's FLOPs per forward.
 */
public final class Bench {
  private Bench() {}

  public record Result(
      Path model,
      int batch,
      int size,
      int steps,
      int repeats,
      double forwardMs,
      double forwardBackwardMs,
      boolean checkpointed,
      double generationMs,
      double gflopPerForward,
      List<Throughput> throughput) {
    public double gflops() {
      return gflopPerForward / (forwardMs / 1000);
    }

    public String describe() {
      return String.format(
              "model %s%n"
                  + "UNet forward            (batch %d, %dx%d latents): %9.2f ms  (median of %d)%n"
                  + "UNet forward+backward   (batch %d%s):              %9.2f ms%n"
                  + "generation              (1 image, %d steps, CFG): %9.2f ms%n"
                  + "UNet forward FLOPs: %.4f GFLOP, achieved %.2f GFLOP/s%n",
              model,
              batch,
              size,
              size,
              forwardMs,
              repeats,
              batch,
              checkpointed ? ", activations checkpointed" : "",
              forwardBackwardMs,
              steps,
              generationMs,
              gflopPerForward,
              gflops())
          + throughputTable();
    }

    private String throughputTable() {
      StringBuilder sb = new StringBuilder();
      if (!throughput.isEmpty()) {
        sb.append(
            String.format(
                "generation throughput (%d steps, CFG, one seed and prompt per image):%n", steps));
        double base = throughput.get(0).imagesPerSecond();
        for (Throughput t : throughput) {
          sb.append(
              String.format(
                  "  batch %3d: %8.3f images/s  (%.2fx batch %d; %.2f s per batch)%n",
                  t.batch(),
                  t.imagesPerSecond(),
                  t.imagesPerSecond() / base,
                  throughput.get(0).batch(),
                  t.seconds()));
        }
      }
      return sb.toString();
    }
  }

  /** Images per second when {@code batch} images are drawn per UNet call (best of the repeats). */
  public record Throughput(int batch, double seconds, double imagesPerSecond) {}

  public static Result run(Path modelDir, int batch, int steps, int repeats) {
    return run(modelDir, batch, steps, repeats, new int[0]);
  }

  /**
   * As {@link #run(Path, int, int, int)}, with the generation throughput at each of {@code
   * throughputBatches} images per UNet call (each batch drawn twice after a warm-up; the faster run
   * counts).
   */
  public static Result run(
      Path modelDir, int batch, int steps, int repeats, int[] throughputBatches) {
    return run(modelDir, batch, 0, steps, repeats, throughputBatches);
  }

  /**
   * As {@link #run(Path, int, int, int, int[])} at latents of {@code latentSize}² (0: the UNet's
   * sample size; SD v1.x: 64, i.e. 512×512 images).
   */
  public static Result run(
      Path modelDir, int batch, int latentSize, int steps, int repeats, int[] throughputBatches) {
    return run(modelDir, null, batch, latentSize, steps, repeats, throughputBatches);
  }

  /**
   * As {@link #run(Path, int, int, int, int, int[])} for any model: a folder ({@code config} null)
   * or a single-file checkpoint with the configs of the folder {@code config}.
   */
  public static Result run(
      Path modelDir,
      Path config,
      int batch,
      int latentSize,
      int steps,
      int repeats,
      int[] throughputBatches) {
    return run(
        modelDir, config, batch, latentSize, steps, repeats, throughputBatches, false, line -> {});
  }

  /**
   * As {@link #run(Path, Path, int, int, int, int, int[])}; with {@code checkpoint} the forward and
   * backward recomputes the activations layer by layer ({@link
   * UNet2DConditionModel#lossBackwardCheckpointed}), as {@code erase --checkpoint-activations}
   * does. {@code progress} hears each figure as soon as it is measured, so that a run stopped later
   * (by the memory of a bigger measurement) keeps what it had.
   */
  public static Result run(
      Path modelDir,
      Path config,
      int batch,
      int latentSize,
      int steps,
      int repeats,
      int[] throughputBatches,
      boolean checkpoint,
      Consumer<String> progress) {
    try (StableDiffusion sd = StableDiffusion.load(modelDir, config);
        NDManager m = Torch.newManager()) {
      UNet2DConditionModel unet = sd.unet();
      int size = latentSize > 0 ? latentSize : unet.config().sampleSize();
      int textDim = unet.config().crossAttentionDim().get(0);
      Torch.seed(0);
      NDArray sample = m.randomNormal(new Shape(batch, unet.config().inChannels(), size, size));
      NDArray context = m.randomNormal(new Shape(batch, 77, textDim));
      NDArray t = m.create(new float[] {500f});
      NDList persistent = unet.params().arrays();
      persistent.add(sample);
      persistent.add(context);
      persistent.add(t);

      double forward =
          median(
              repeats,
              () -> {
                try (StepScope s = StepScope.open(m, persistent)) {
                  unet.forward(sample, t, context).toFloatArray();
                }
              });

      progress.accept(
          String.format(
              Locale.ROOT, "UNet forward (batch %d, %dx%d): %.2f ms", batch, size, size, forward));
      for (Param p : unet.params().named().values()) {
        p.value().setRequiresGradient(true);
      }
      double backward =
          median(
              repeats,
              () -> {
                try (StepScope s = StepScope.open(m, persistent);
                    GradientCollector gc = Torch.engine().newGradientCollector()) {
                  if (checkpoint) {
                    unet.lossBackwardCheckpointed(sample, t, context, out -> out.mul(out).mean());
                  } else {
                    NDArray out = unet.forward(sample, t, context);
                    gc.backward(out.mul(out).mean());
                  }
                }
              });
      progress.accept(
          String.format(
              Locale.ROOT,
              "UNet forward+backward (batch %d%s): %.2f ms",
              batch,
              checkpoint ? ", activations checkpointed" : "",
              backward));
      for (Param p : unet.params().named().values()) {
        p.value().setRequiresGradient(false);
      }

      int px = size * sd.latentFactor();
      GenerateSettings g = new GenerateSettings("a photo", null, 0, steps, 7.5f, px, px, 1);
      double generation =
          median(
              Math.max(1, repeats / 5),
              () -> {
                try (NDManager run = m.newSubManager()) {
                  sd.generate(g, run, null);
                }
              });
      progress.accept(String.format(Locale.ROOT, "generation: %.2f ms", generation));
      double gflop = UNetFlops.forward(unet.config(), batch, size, size, 77) / 1e9;
      List<Throughput> throughput = new ArrayList<>();
      for (int b : throughputBatches) {
        List<String> prompts = new ArrayList<>(Collections.nCopies(b, "a photo"));
        long[] seeds = new long[b];
        float[] guidance = new float[b];
        for (int i = 0; i < b; i++) {
          seeds[i] = i;
          guidance[i] = 7.5f;
        }
        double best =
            min(
                2,
                () -> {
                  try (NDManager run = m.newSubManager()) {
                    sd.generateRows(
                        Sampler.DDIM, prompts, seeds, guidance, steps, px, px, run, null);
                  }
                });
        throughput.add(new Throughput(b, best / 1000, b / (best / 1000)));
        progress.accept(
            String.format(
                Locale.ROOT, "throughput at batch %d: %.3f images/s", b, b / (best / 1000)));
      }
      return new Result(
          modelDir,
          batch,
          size,
          steps,
          repeats,
          forward,
          backward,
          checkpoint,
          generation,
          gflop,
          throughput);
    }
  }

  /** Least wall time in ms of {@code repeats} runs after one warm-up run. */
  private static double min(int repeats, Runnable body) {
    body.run();
    double best = Double.MAX_VALUE;
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      body.run();
      best = Math.min(best, (System.nanoTime() - t0) / 1e6);
    }
    return best;
  }

  /** Median wall time in ms of {@code repeats} runs after one warm-up run. */
  private static double median(int repeats, Runnable body) {
    body.run();
    double[] ms = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      body.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    return repeats % 2 == 1 ? ms[repeats / 2] : (ms[repeats / 2 - 1] + ms[repeats / 2]) / 2;
  }
}

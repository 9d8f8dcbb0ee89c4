package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.perase.io.DType;
import dev.perase.model.nn.Param;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Trains the world's detector on freshly rendered images with their true labels: the sum of three
 * softmax cross-entropies (shape, colour, style), AdamW with cosine decay. Images get light
 * Gaussian pixel noise so the detector also reads the slightly noisy images a diffusion model
 * draws.
 */
public final class DetectorTrainer {
  /** Settings: steps, batch, learning rate, augmentation noise σ, seed. */
  public record Settings(int steps, int batchSize, double learningRate, float noise, long seed) {
    public static Settings defaults() {
      return new Settings(3000, 64, 2e-3, 0.08f, 7);
    }
  }

  /** Accuracy per head on held-out images. */
  public record Accuracy(int images, double shape, double color, double style) {
    public String describe() {
      return String.format(
          "detector accuracy on %d held-out images: shape %.2f %%, colour %.2f %%, style %.2f %%",
          images, 100 * shape, 100 * color, 100 * style);
    }
  }

  private DetectorTrainer() {}

  /** The detector's architecture with the world's labels in enum order. */
  public static DetectorConfig defaultConfig() {
    return new DetectorConfig(
        WorldRenderer.SIZE,
        List.of(32, 64, 128),
        8,
        256,
        Arrays.stream(WorldShape.values()).map(WorldShape::conceptName).toList(),
        Arrays.stream(FillColor.values()).map(FillColor::conceptName).toList(),
        Arrays.stream(TextureStyle.values()).map(TextureStyle::conceptName).toList());
  }

  /** Trains a detector, writes it to {@code out} (F16) and returns its held-out accuracy. */
  public static Accuracy train(Path out, Settings s, int heldOut, IntConsumer onStep) {
    try (NDManager m = Torch.newManager()) {
      WorldDetector det = WorldDetector.init(defaultConfig(), m, s.seed());
      List<NDArray> values = new ArrayList<>();
      for (Param p : det.params().named().values()) {
        p.value().setRequiresGradient(true);
        values.add(p.value());
      }
      AdamW opt = new AdamW(values, m, s.learningRate(), 0.9, 0.999, 1e-8, 0.01);
      WorldDataset data = new WorldDataset(s.seed());
      NDList persistent = det.arrays();
      persistent.addAll(new NDList(opt.expAvg().toArray(new NDArray[0])));
      persistent.addAll(new NDList(opt.expAvgSq().toArray(new NDArray[0])));
      for (int step = 0; step < s.steps(); step++) {
        double progress = (double) step / s.steps();
        opt.setLearningRate(s.learningRate() * 0.5 * (1 + Math.cos(Math.PI * progress)));
        WorldBatch batch = data.batch(step, s.batchSize());
        try (StepScope scope = StepScope.open(m, persistent)) {
          NDManager sm = scope.manager();
          Torch.seed(s.seed() * 7919 + step);
          NDArray x = batch.images(sm);
          x = x.add(sm.randomNormal(x.getShape()).mul(s.noise()));
          try (GradientCollector gc = Torch.engine().newGradientCollector()) {
            WorldDetector.Logits l = det.forward(x);
            NDArray loss =
                crossEntropy(l.shape(), labels(batch, 0, sm))
                    .add(crossEntropy(l.color(), labels(batch, 1, sm)))
                    .add(crossEntropy(l.style(), labels(batch, 2, sm)));
            gc.backward(loss);
          }
          opt.step();
          opt.zeroGrad();
        }
        if (onStep != null) {
          onStep.accept(step + 1);
        }
      }
      try {
        det.save(out, DType.F16);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    try (NDManager m = Torch.newManager()) {
      return evaluate(WorldDetector.load(out, m), heldOut, 1_000_003L);
    }
  }

  /** Accuracy of a detector on {@code n} images rendered from a seed the training never used. */
  public static Accuracy evaluate(WorldDetector det, int n, long seed) {
    WorldDataset data = new WorldDataset(seed);
    int[] correct = new int[3];
    int done = 0;
    NDManager base = det.params().named().values().iterator().next().value().getManager();
    for (int step = 0; done < n; step++) {
      WorldBatch batch = data.batch(step, Math.min(200, n - done));
      try (StepScope scope = StepScope.open(base, det.arrays())) {
        WorldDetector.Logits l = det.forward(batch.images(scope.manager()));
        int[][] pred = {argmax(l.shape()), argmax(l.color()), argmax(l.style())};
        for (int i = 0; i < batch.size(); i++) {
          Labels t = batch.labels().get(i);
          correct[0] += pred[0][i] == t.shape().ordinal() ? 1 : 0;
          correct[1] += pred[1][i] == t.color().ordinal() ? 1 : 0;
          correct[2] += pred[2][i] == t.style().ordinal() ? 1 : 0;
        }
      }
      done += batch.size();
    }
    return new Accuracy(
        n, (double) correct[0] / n, (double) correct[1] / n, (double) correct[2] / n);
  }

  static int[] argmax(NDArray logits) {
    long[] a = logits.argMax(1).toLongArray();
    int[] out = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = (int) a[i];
    }
    return out;
  }

  private static NDArray labels(WorldBatch batch, int head, NDManager m) {
    int[] y = new int[batch.size()];
    for (int i = 0; i < y.length; i++) {
      Labels l = batch.labels().get(i);
      y[i] =
          switch (head) {
            case 0 -> l.shape().ordinal();
            case 1 -> l.color().ordinal();
            default -> l.style().ordinal();
          };
    }
    return m.create(y);
  }

  /** Mean softmax cross-entropy −log softmax(z)_y. */
  static NDArray crossEntropy(NDArray logits, NDArray y) {
    NDArray logp = logits.logSoftmax(1);
    NDArray onehot = y.oneHot((int) logits.getShape().get(1));
    return logp.mul(onehot).sum(new int[] {1}).mean().neg();
  }
}

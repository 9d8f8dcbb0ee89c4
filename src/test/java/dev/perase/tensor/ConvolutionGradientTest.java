package dev.perase.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/**
 * The input gradient of {@link Ops#conv2d} does not depend on the batch: a batch's gradient is its
 * images' gradients, each computed alone. On this project's machine (AMD EPYC, Zen 5, libtorch
 * 2.7.1) the plain libtorch call breaks this for 3, 4 and 8 output channels at batch 2 and more:
 * the gradient is wrong, not rounded (3 and 4 channels: 53–78 % of its largest value apart, now and
 * then NaN), while the forward pass is right. The UNet's conv_out (3 or 4 channels) is such a
 * layer, so every batched backward pass through it was wrong.
 */
class ConvolutionGradientTest {
  /** (in, out, kernel, stride, padding): the UNet's kinds of convolution. */
  private static final int[][] LAYERS = {
    {8, 3, 3, 1, 1},
    {8, 4, 3, 1, 1},
    {8, 8, 3, 1, 1},
    {32, 4, 3, 1, 1},
    {32, 32, 3, 1, 1},
    {16, 16, 3, 1, 1},
    {32, 16, 3, 1, 1},
    {32, 32, 1, 1, 0},
    {32, 64, 1, 1, 0},
    {96, 64, 1, 1, 0},
    {32, 32, 3, 2, 1},
    {64, 64, 3, 1, 1}
  };

  @Test
  void aBatchsInputGradientIsEachImagesOwn() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(3);
      StringBuilder wrong = new StringBuilder();
      for (int[] layer : LAYERS) {
        for (int batch : new int[] {2, 4}) {
          NDArray x = m.randomNormal(new Shape(batch, layer[0], 16, 16));
          NDArray w = m.randomNormal(new Shape(layer[1], layer[0], layer[2], layer[2])).mul(0.05f);
          Shape stride = new Shape(layer[3], layer[3]);
          Shape padding = new Shape(layer[4], layer[4]);
          float[] together = inputGradient(x, w, stride, padding);
          NDList alone = new NDList();
          for (int i = 0; i < batch; i++) {
            NDArray xi = x.get(new NDIndex("{}:{}", i, i + 1)).duplicate();
            alone.add(m.create(inputGradient(xi, w, stride, padding), xi.getShape()));
          }
          float[] expected = NDArrays.concat(alone, 0).toFloatArray();
          double worst = 0;
          double scale = 0;
          for (int j = 0; j < expected.length; j++) {
            worst = Math.max(worst, Math.abs(expected[j] - together[j]));
            scale = Math.max(scale, Math.abs(expected[j]));
          }
          if (!(worst <= 1e-5 * scale)) {
            wrong.append(
                java.util.Arrays.toString(layer) + " batch " + batch + ": " + worst / scale + "; ");
          }
        }
      }
      assertTrue(wrong.isEmpty(), wrong.toString());
    }
  }

  /** ∂/∂x of Σ conv(x, w)². */
  private static float[] inputGradient(NDArray x0, NDArray w, Shape stride, Shape padding) {
    NDArray x = x0.duplicate();
    x.setRequiresGradient(true);
    try (GradientCollector gc = Torch.engine().newGradientCollector()) {
      NDArray y = Ops.conv2d(x, w, null, stride, padding);
      gc.backward(y.mul(y).sum());
    }
    return x.getGradient().toFloatArray();
  }
}

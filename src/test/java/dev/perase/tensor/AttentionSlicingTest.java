package dev.perase.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/**
 * {@link Ops#attention} on a batch whose scores exceed {@link Ops#ATTENTION_SLICE_FLOATS} per slice
 * (the world model's 16×16 self attention at batch 5: 4 heads × 256 × 256 per row) equals the
 * attention of the whole batch in one call, values bit for bit and gradients within float rounding.
 */
class AttentionSlicingTest {
  private static final float SCALE = 0.25f;

  @Test
  void slicedAttentionEqualsTheWholeBatchsAttention() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(11);
      Shape shape = new Shape(5, 4, 256, 16);
      assertTrue(4L * 256 * 256 >= Ops.ATTENTION_SLICE_FLOATS, "the batch is sliced");
      NDArray q = m.randomNormal(shape);
      NDArray k = m.randomNormal(shape);
      NDArray v = m.randomNormal(shape);
      NDArray whole = Ops.attentionProbs(q, k, SCALE).matMul(v);
      NDArray sliced = Ops.attention(q, k, v, SCALE);
      assertArrayEquals(whole.toFloatArray(), sliced.toFloatArray());

      float[] gWhole = queryGradient(m, q, k, v, false);
      float[] gSliced = queryGradient(m, q, k, v, true);
      double max = 0;
      double worst = 0;
      for (int i = 0; i < gWhole.length; i++) {
        max = Math.max(max, Math.abs(gWhole[i]));
        worst = Math.max(worst, Math.abs(gWhole[i] - gSliced[i]));
      }
      assertTrue(worst <= 1e-6 * max, "gradient apart by " + worst + " of " + max);
    }
  }

  /** d(sum of the attention's squares)/dq, sliced or in one call. */
  private static float[] queryGradient(
      NDManager m, NDArray q, NDArray k, NDArray v, boolean sliced) {
    NDArray x = q.duplicate();
    x.setRequiresGradient(true);
    try (GradientCollector gc = Torch.engine().newGradientCollector()) {
      NDArray out =
          sliced ? Ops.attention(x, k, v, SCALE) : Ops.attentionProbs(x, k, SCALE).matMul(v);
      gc.backward(out.mul(out).sum());
    }
    return x.getGradient().toFloatArray();
  }
}

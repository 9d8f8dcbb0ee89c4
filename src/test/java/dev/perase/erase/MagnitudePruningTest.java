package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Global magnitude pruning: exactly round(ratio · n) elements, the smallest |w| over all tensors
 * together, ties broken by tensor order then flat index.
 */
class MagnitudePruningTest {

  private static List<Param> maskable(MiniUNetParams mini) {
    List<Param> out = new ArrayList<>();
    for (Param p : mini.params.named().values()) {
      if (p.maskable()) {
        out.add(p);
      }
    }
    return out;
  }

  @Test
  void prunesExactlyTheRoundedShareOfTheSmallestMagnitudes() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(3);
      List<Param> params = maskable(new MiniUNetParams(m));
      long n = params.stream().mapToLong(Param::numel).sum();
      for (double ratio : new double[] {0.1, 0.37, 0.5001, 0.0}) {
        Map<String, BinaryMask.Pruned> pruned = MagnitudePruning.select(params, ratio);
        assertEquals(params.size(), pruned.size(), "every parameter is listed");
        long count = pruned.values().stream().mapToLong(BinaryMask.Pruned::count).sum();
        assertEquals(Math.round(ratio * n), count, "ratio " + ratio + " of " + n);
        float maxPruned = 0;
        float minKept = Float.MAX_VALUE;
        for (Param p : params) {
          float[] v = p.value().toFloatArray();
          boolean[] isPruned = new boolean[v.length];
          for (int i : pruned.get(p.name()).indices()) {
            isPruned[i] = true;
          }
          for (int i = 0; i < v.length; i++) {
            if (isPruned[i]) {
              maxPruned = Math.max(maxPruned, Math.abs(v[i]));
            } else {
              minKept = Math.min(minKept, Math.abs(v[i]));
            }
          }
        }
        assertTrue(maxPruned <= minKept, maxPruned + " pruned above " + minKept + " kept");
      }
    }
  }

  @Test
  void tiesGoToTheEarlierTensorThenTheLowerIndex() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(4);
      List<Param> params = maskable(new MiniUNetParams(m));
      // every magnitude 0.5 (signs alternate), except one larger element in the first tensor
      for (Param p : params) {
        float[] v = new float[(int) p.numel()];
        for (int i = 0; i < v.length; i++) {
          v[i] = i % 2 == 0 ? 0.5f : -0.5f;
        }
        if (p == params.get(0)) {
          v[0] = 2f;
        }
        p.setValue(m.create(v, p.value().getShape()));
      }
      long n = params.stream().mapToLong(Param::numel).sum();
      double ratio = 0.3;
      long k = Math.round(ratio * n);
      Map<String, BinaryMask.Pruned> pruned = MagnitudePruning.select(params, ratio);
      assertEquals(pruned, MagnitudePruning.select(params, ratio), "deterministic");
      // expected: walk the tensors in order, skipping the one large element, until k are taken
      long left = k;
      for (Param p : params) {
        List<Integer> expect = new ArrayList<>();
        for (int i = 0; i < p.numel() && left > 0; i++) {
          if (p == params.get(0) && i == 0) {
            continue;
          }
          expect.add(i);
          left--;
        }
        assertArrayEquals(
            expect.stream().mapToInt(Integer::intValue).toArray(),
            pruned.get(p.name()).indices(),
            p.name());
      }
      assertEquals(0, left);
    }
  }

  @Test
  void zeroingSetsExactlyThePrunedElementsToZero() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(5);
      List<Param> params = maskable(new MiniUNetParams(m));
      List<float[]> before = new ArrayList<>();
      for (Param p : params) {
        before.add(p.value().toFloatArray());
      }
      Map<String, BinaryMask.Pruned> pruned = MagnitudePruning.select(params, 0.2);
      MagnitudePruning.zero(MagnitudePruning.keepMasks(params, pruned, m));
      for (int j = 0; j < params.size(); j++) {
        float[] now = params.get(j).value().toFloatArray();
        float[] was = before.get(j);
        int[] idx = pruned.get(params.get(j).name()).indices();
        for (int i = 0; i < now.length; i++) {
          boolean isPruned = Arrays.binarySearch(idx, i) >= 0;
          assertEquals(isPruned ? 0f : was[i], now[i], 0f, params.get(j).name() + "[" + i + "]");
        }
      }
    }
  }
}

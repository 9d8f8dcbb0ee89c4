package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mask's pruning budget ({@link MaskSettings#pruneRatio()}): the k-th lowest logit found by
 * bisection equals a sort's, only the budget's elements are attenuated in the forward pass, the
 * hard mask never prunes more than ⌈ρ·n⌉ (ties taken in order), and a P-ESD run with a budget below
 * its natural pruned share ends within 10 % of the target.
 */
class PruningBudgetTest {
  @TempDir Path tmp;

  private static MaskSettings budget(double ratio) {
    return MaskSettings.DEFAULT.withPruneRatio(ratio);
  }

  /** Random logits around 0 with repeated values, so that ties at the k-th value occur. */
  private static float[] randomLogits(SoftMask mask, NDManager m) {
    Torch.seed(3);
    List<Float> all = new ArrayList<>();
    for (NDArray s : mask.logits()) {
      float[] v = m.randomNormal(s.getShape()).mul(0.3f).toFloatArray();
      for (int j = 0; j < v.length; j++) {
        v[j] = Math.round(v[j] * 50) / 50f; // a few hundred distinct values: many ties
      }
      s.set(v);
      for (float x : v) {
        all.add(x);
      }
    }
    float[] sorted = new float[all.size()];
    for (int j = 0; j < sorted.length; j++) {
      sorted[j] = all.get(j);
    }
    Arrays.sort(sorted);
    return sorted;
  }

  @Test
  void budgetLogitIsTheKthLowestLogitWhateverTheGrouping() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      for (double ratio : new double[] {1e-3, 0.05, 0.5, 1.0}) {
        try (SoftMask mask =
            SoftMask.create(model.params, Selection.parse("all"), budget(ratio), m)) {
          float[] sorted = randomLogits(mask, m);
          long k = mask.budget();
          assertEquals((long) Math.ceil(ratio * sorted.length), k);
          for (long group : new long[] {SoftMask.STATS_GROUP_ELEMENTS, 100}) {
            float sk = mask.budgetLogit(group);
            assertTrue(sorted[(int) k - 1] == sk, "ratio " + ratio + ": " + sk); // −0 == 0
          }
        }
      }
      // orderKey orders floats as numbers, −0 and +0 included
      float[] xs = {Float.NEGATIVE_INFINITY, -3.5f, -1e-30f, -0f, 0f, 1e-30f, 2f};
      for (int j = 1; j < xs.length; j++) {
        assertTrue(SoftMask.orderKey(xs[j - 1]) < SoftMask.orderKey(xs[j]));
        assertEquals(xs[j], SoftMask.fromOrderKey(SoftMask.orderKey(xs[j])));
      }
    }
  }

  @Test
  void onlyTheBudgetIsAttenuatedAndTheHardMaskKeepsToIt() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      try (SoftMask mask = SoftMask.create(model.params, Selection.parse("all"), budget(0.1), m)) {
        float[] sorted = randomLogits(mask, m);
        float sk = mask.budgetLogit();
        try (NDManager step = m.newSubManager()) {
          mask.install(step);
          long attenuated = 0;
          for (int i = 0; i < mask.params().size(); i++) {
            Param p = mask.params().get(i);
            float[] w = p.value().toFloatArray();
            float[] e = p.effective().toFloatArray();
            float[] s = mask.logits().get(i).toFloatArray();
            for (int j = 0; j < w.length; j++) {
              if (s[j] > sk) {
                assertEquals(w[j], e[j], p.name() + "[" + j + "] outside the budget changed");
              } else {
                float mj = MaskSettings.sigmoidF32(10f * s[j]);
                assertEquals(mj * w[j], e[j], 1e-6f * Math.abs(w[j]));
                attenuated++;
              }
            }
          }
          mask.uninstall();
          // the budget plus the ties at s_k
          long atOrBelow = Arrays.stream(toDoubles(sorted)).filter(x -> x <= sk).count();
          assertEquals(atOrBelow, attenuated);
        }
        // every logit of the budget is below 0 here (m ≤ τ): exactly k pruned, the same count in
        // the log's statistics and in the hard mask
        assertTrue(sorted[(int) mask.budget() - 1] < 0);
        assertEquals(mask.budget(), mask.prunedCount());
        assertEquals(mask.budget(), mask.stats(100).pruned());
        BinaryMask hard = mask.toBinary("h", "p-esd", "c", "{}");
        assertEquals(mask.budget(), hard.prunedCount());
        // without a budget, τ alone: every negative logit
        long negative = Arrays.stream(toDoubles(sorted)).filter(x -> x <= 0).count();
        assertEquals(negative, mask.prunedCount(0.5));
        assertTrue(negative > mask.budget());
      }
    }
  }

  @Test
  void tiesAtTheKthValueAreTakenInTensorAndElementOrder() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      try (SoftMask mask = SoftMask.create(model.params, Selection.parse("all"), budget(0.3), m)) {
        for (NDArray s : mask.logits()) {
          s.set(m.full(s.getShape(), -1f).toFloatArray());
        }
        BinaryMask hard = mask.toBinary("h", "p-esd", "c", "{}");
        assertEquals(mask.budget(), hard.prunedCount());
        long left = mask.budget();
        for (Param p : mask.params()) {
          int[] idx = hard.perParameter().get(p.name()).indices();
          int n = (int) Math.min(left, p.numel());
          int[] expected = new int[n];
          Arrays.setAll(expected, j -> j);
          assertArrayEquals(expected, idx, p.name());
          left -= n;
        }
      }
    }
    assertThrows(BadInputException.class, () -> budget(0));
    assertThrows(BadInputException.class, () -> budget(1.5));
    assertEquals(MaskSettings.DEFAULT, MaskSettings.DEFAULT.withPruneRatio(null));
  }

  /**
   * P-ESD with a budget of a quarter of what the same run prunes without one. The tiny fixture's
   * gradients are all below AdamW's ε, so its logits move by under 1 % of lr per step: s₀ = 0.02
   * (m₀ = 0.55) lets a few steps prune.
   */
  @Test
  void pEsdWithABudgetEndsWithinTenPercentOfTheTarget() {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      EraseSettings free =
          MaskTrainerTest.pEsd(sd, 4).withMask(new MaskSettings(10, 0.02, 0.5, null));
      Erasure natural = MaskTrainer.train(sd, free, tmp.resolve("free"), false, null);
      double naturalRatio = (double) natural.prunedCount() / natural.selectedElements();
      assertTrue(natural.prunedCount() > 40, "too few pruned to test a budget: " + natural);
      double target = naturalRatio / 4;
      EraseSettings limited = free.withMask(free.mask().withPruneRatio(target));
      Erasure e = MaskTrainer.train(sd, limited, tmp.resolve("limited"), false, null);
      double ratio = (double) e.prunedCount() / e.selectedElements();
      System.out.printf(
          "P-ESD, 4 steps on the tiny UNet's cross-attn: %.3e pruned without a budget; budget"
              + " %.3e → %.3e (%d of %d)%n",
          naturalRatio, target, ratio, e.prunedCount(), e.selectedElements());
      assertTrue(ratio <= Math.ceil(target * e.selectedElements()) / e.selectedElements());
      assertTrue(ratio >= 0.9 * target, "budget not reached: " + ratio + " < 0.9 × " + target);
      BinaryMask mask = BinaryMask.read(e.artifact());
      assertEquals(e.prunedCount(), mask.prunedCount());
    }
  }

  private static double[] toDoubles(float[] v) {
    double[] d = new double[v.length];
    for (int j = 0; j < v.length; j++) {
      d[j] = v[j];
    }
    return d;
  }
}

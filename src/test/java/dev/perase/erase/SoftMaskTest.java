package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SoftMaskTest {
  private static final String HASH = "0123456789abcdef";
  private static final String TO_K =
      "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
  private static final String TO_V =
      "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight";
  private static final String TO_OUT_BIAS =
      "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.bias";

  /**
   * The float32 pitfall of DESIGN.md §4: sigmoid(10·1) is below 1 with a non-zero gradient, while
   * sigmoid(10·2) rounds to exactly 1.0 and its gradient is exactly 0, so s₀ = 2 could never train.
   */
  @Test
  void sigmoidOfTenSIsExactlyOneWithZeroGradientPastAboutOnePointSix() {
    try (NDManager m = Torch.newManager()) {
      NDArray s = m.create(new float[] {1f, 2f});
      s.setRequiresGradient(true);
      float[] mask;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        // the same ops as SoftMask: sigmoid(T · s) with a 0-d T first
        NDArray mk = Activation.sigmoid(m.create(10f).mul(s));
        mask = mk.toFloatArray();
        gc.backward(mk.sum());
      }
      float[] grad = s.getGradient().toFloatArray();
      System.out.printf(
          "float32: sigmoid(10·1) = %.9g (1 − m = %.3g), d/ds = %.4g; sigmoid(10·2) = %.9g, d/ds ="
              + " %s%n",
          mask[0], 1 - mask[0], grad[0], mask[1], grad[1]);
      assertTrue(mask[0] < 1f);
      assertEquals(0.9999546f, mask[0], 1e-7f);
      assertTrue(grad[0] > 0f);
      assertEquals(10 * mask[0] * (1 - (double) mask[0]), grad[0], 1e-2 * grad[0]);
      assertEquals(1.0f, mask[1]);
      assertEquals(0.0f, grad[1]);
    }
    // the settings refuse an initial logit whose mask is frozen at 1, and accept the default
    BadInputException e =
        assertThrows(BadInputException.class, () -> new MaskSettings(10, 2, 0.5, null));
    assertTrue(e.getMessage().contains("gradient is 0"), e.getMessage());
    assertEquals(new MaskSettings(10, 1, 0.5, null), MaskSettings.DEFAULT);
    assertThrows(BadInputException.class, () -> new MaskSettings(0, 1, 0.5, null));
    assertThrows(BadInputException.class, () -> new MaskSettings(10, 1, 1.0, null));
    assertThrows(BadInputException.class, () -> new MaskSettings(10, -1, 0.5, null));
  }

  /**
   * AdamW steps with a loss that reads only attn2.to_k and attn2.to_v move exactly those logits;
   * every other logit stays bit-identical to s₀ (weight decay 0 here; see the next test), the base
   * weights never change, no mask is left on the model after the step, and nothing leaks per step.
   */
  @Test
  void adamwStepsMoveOnlyTheLogitsTheLossDependsOn() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(7);
      MiniUNetParams model = new MiniUNetParams(m);
      Map<String, float[]> before = snapshot(model);
      float[] context =
          m.randomNormal(new ai.djl.ndarray.types.Shape(3, MiniUNetParams.CROSS)).toFloatArray();
      try (SoftMask mask =
          SoftMask.create(model.params, Selection.parse("all"), MaskSettings.DEFAULT, m)) {
        assertEquals(34, mask.logits().size());
        assertEquals(1.0, mask.mean(), 1e-4);
        AdamW opt = new AdamW(mask.logits(), m, 0.1, 0.9, 0.999, 1e-8, 0.0);
        int arraysAfterFirstStep = 0;
        for (int step = 0; step < 3; step++) {
          trainStep(model, mask, opt, context, m);
          for (Param p : model.params.named().values()) {
            assertNull(p.mask(), p.name() + " keeps a mask after the step");
          }
          if (step == 0) {
            arraysAfterFirstStep = m.getManagedArrays().size();
          }
        }
        // masks, products W ⊙ m and optimizer temporaries are freed with each step (the AdamW state
        // lives in m, not temp-attached to the step, as a trainer would hold it)
        assertEquals(arraysAfterFirstStep, m.getManagedArrays().size(), "arrays leaked per step");
        Map<String, NDArray> s = mask.namedLogits();
        for (Map.Entry<String, NDArray> e : s.entrySet()) {
          float[] v = e.getValue().toFloatArray();
          double moved = 0;
          for (float x : v) {
            moved = Math.max(moved, Math.abs(x - 1f));
          }
          if (Set.of(TO_K, TO_V).contains(e.getKey())) {
            System.out.printf("%s: max |s − s₀| = %.4f after 3 steps%n", e.getKey(), moved);
            assertTrue(moved > 0.1, e.getKey() + " did not move: " + moved);
          } else {
            assertEquals(0.0, moved, e.getKey() + " moved although the loss ignores it");
          }
        }
        assertSnapshotEquals(before, model);
      }
    }
  }

  /**
   * With torch's default weight decay λ = 0.01, a logit that gets a zero gradient is only decayed:
   * s = s₀·(1 − lr·λ)ᵏ exactly, the Adam part adds nothing. (torch skips parameters whose gradient
   * is None; in P-ESD every selected parameter enters the loss, so both agree there.)
   */
  @Test
  void weightDecayAloneShrinksTheLogitsTheLossIgnores() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(7);
      MiniUNetParams model = new MiniUNetParams(m);
      float[] context =
          m.randomNormal(new ai.djl.ndarray.types.Shape(3, MiniUNetParams.CROSS)).toFloatArray();
      try (SoftMask mask =
          SoftMask.create(model.params, Selection.parse("cross-attn"), MaskSettings.DEFAULT, m)) {
        AdamW opt = AdamW.withDefaults(mask.logits(), m, 0.1);
        float expected = 1f;
        for (int step = 0; step < 3; step++) {
          trainStep(model, mask, opt, context, m);
          expected *= (float) (1 - 0.1 * 0.01);
        }
        for (float x : mask.namedLogits().get(TO_OUT_BIAS).toFloatArray()) {
          assertEquals(expected, x);
        }
        assertNotEquals(expected, mask.namedLogits().get(TO_K).toFloatArray()[0]);
      }
    }
  }

  /**
   * The gradient {@link SoftMask#gradient} forms from ∂L/∂(W ⊙ m) equals, value for value, the one
   * autograd gives the logits when it records the whole chain s → T·s → σ → m ⊙ W (the way the mask
   * trained before it kept only the products), on logits spread over the sigmoid's range.
   */
  @Test
  void gradientFromTheProductsEqualsAutogradThroughTheWholeChain() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(11);
      MiniUNetParams model = new MiniUNetParams(m);
      float[] context =
          m.randomNormal(new ai.djl.ndarray.types.Shape(3, MiniUNetParams.CROSS)).toFloatArray();
      try (SoftMask mask =
          SoftMask.create(model.params, Selection.parse("cross-attn"), MaskSettings.DEFAULT, m)) {
        for (NDArray s : mask.logits()) {
          try (NDArray r = m.randomUniform(-1f, 1.5f, s.getShape())) {
            s.muli(0).addi(r);
          }
        }
        List<float[]> viaProducts = new java.util.ArrayList<>();
        try (NDManager step = m.newSubManager()) {
          mask.install(step);
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(crossAttentionLoss(model, context, step));
          }
          for (int i = 0; i < mask.logits().size(); i++) {
            try (NDArray g = mask.gradient(i)) {
              viaProducts.add(g.toFloatArray());
            }
          }
          mask.uninstall();
        }
        try (NDManager step = m.newSubManager()) {
          List<NDArray> leaves = new java.util.ArrayList<>();
          for (NDArray s : mask.logits()) {
            NDArray leaf = s.duplicate();
            leaf.attach(step);
            leaf.setRequiresGradient(true);
            leaves.add(leaf);
          }
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            for (int i = 0; i < leaves.size(); i++) {
              NDArray mk = Activation.sigmoid(step.create(10f).mul(leaves.get(i)));
              mask.params().get(i).setMask(mk);
            }
            gc.backward(crossAttentionLoss(model, context, step));
          } finally {
            for (Param p : mask.params()) {
              p.setMask(null);
            }
          }
          int nonZero = 0;
          for (int i = 0; i < leaves.size(); i++) {
            float[] autograd = leaves.get(i).getGradient().toFloatArray();
            float[] ours = viaProducts.get(i);
            for (int j = 0; j < autograd.length; j++) {
              // == : where the loss does not reach a weight, 0 · (negative W) is −0.0, which
              // AdamW treats as 0
              assertTrue(
                  autograd[j] == ours[j],
                  mask.params().get(i).name() + "[" + j + "]: " + autograd[j] + " vs " + ours[j]);
              nonZero += autograd[j] != 0 ? 1 : 0;
            }
          }
          assertTrue(nonZero > 50, "the loss reaches the logits (" + nonZero + " non-zero)");
        }
      }
    }
  }

  private static NDArray crossAttentionLoss(MiniUNetParams model, float[] context, NDManager m) {
    NDArray c = m.create(context, new ai.djl.ndarray.types.Shape(3, MiniUNetParams.CROSS));
    NDArray y = model.attn2ToK.forward(c).add(model.attn2ToV.forward(c));
    return y.mul(y).sum();
  }

  /** loss = Σ (to_k(c) + to_v(c))², reading only attn2.to_k and attn2.to_v through the hook. */
  private static void trainStep(
      MiniUNetParams model, SoftMask mask, AdamW opt, float[] context, NDManager m) {
    try (StepScope step = StepScope.open(m, new NDList(mask.logits()))) {
      mask.install(step.manager());
      try {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          NDArray c =
              step.manager()
                  .create(context, new ai.djl.ndarray.types.Shape(3, MiniUNetParams.CROSS));
          NDArray y = model.attn2ToK.forward(c).add(model.attn2ToV.forward(c));
          gc.backward(y.mul(y).sum());
        }
        opt.step(mask::gradient);
      } finally {
        mask.uninstall();
      }
    }
  }

  /**
   * The hard mask 1[m > τ] prunes exactly the elements with m ≤ τ — m = 0.5 at s = 0 is pruned, m =
   * 0.5025 at s = 0.001 is kept — of the selected parameters only; applied, it zeroes those
   * elements of W ⊙ m and nothing else, and removing it gives back W.
   */
  @Test
  void hardMaskZeroesOnlyTheSelectedPrunedElements() {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(3);
      MiniUNetParams model = new MiniUNetParams(m);
      Map<String, float[]> before = snapshot(model);
      try (SoftMask mask =
          SoftMask.create(model.params, Selection.parse("cross-attn"), MaskSettings.DEFAULT, m)) {
        setLogits(mask, TO_K, Map.of(0, -0.5f, 5, -0.5f, 17, -3f, 20, 0f, 21, 0.001f));
        setLogits(mask, TO_OUT_BIAS, Map.of(3, -1f));
        assertEquals(5, mask.prunedCount());
        assertEquals(5, mask.prunedCount(0.5));
        assertEquals(4, mask.prunedCount(0.4)); // at τ 0.4 the element at m = σ(0) = 0.5 is kept
        assertTrue(mask.mean() < 1 - 4.0 / mask.elementCount());
        assertEquals(new SoftMask.Stats(mask.mean(), 5), mask.stats());

        BinaryMask hard = mask.toBinary(HASH, "p-esd", "a test concept", "{\"lr\": 0.1}");
        assertEquals(5, hard.prunedCount());
        assertEquals(MiniUNetParams.ATTN2, List.copyOf(hard.perParameter().keySet()));
        assertArrayEquals(new int[] {0, 5, 17, 20}, hard.perParameter().get(TO_K).indices());
        assertArrayEquals(new int[] {3}, hard.perParameter().get(TO_OUT_BIAS).indices());
        assertEquals("cross-attn", hard.metadata().selection());
        assertEquals(10.0, hard.metadata().temperature());
        assertEquals(0.5, hard.metadata().threshold());

        hard.applyTo(model.params, HASH);
        Map<String, int[]> pruned = new LinkedHashMap<>();
        hard.perParameter().forEach((k, v) -> pruned.put(k, v.indices()));
        for (Param p : model.params.named().values()) {
          float[] w = before.get(p.name());
          float[] eff = p.effective().toFloatArray();
          int[] idx = pruned.getOrDefault(p.name(), new int[0]);
          if (idx.length == 0) {
            assertSame(
                p.value(), p.effective(), p.name() + " is masked although nothing is pruned");
            continue;
          }
          Set<Integer> zero = new java.util.HashSet<>();
          for (int i : idx) {
            zero.add(i);
          }
          for (int i = 0; i < w.length; i++) {
            if (zero.contains(i)) {
              assertEquals(0f, eff[i], 0f, p.name() + "[" + i + "] not pruned");
            } else {
              assertEquals(
                  Float.floatToIntBits(w[i]),
                  Float.floatToIntBits(eff[i]),
                  p.name() + "[" + i + "] changed");
            }
          }
        }
        assertSnapshotEquals(before, model);
        hard.removeFrom(model.params);
        for (Param p : model.params.named().values()) {
          assertNull(p.mask());
          assertSame(p.value(), p.effective());
        }
      }
    }
  }

  /**
   * Installing over a hard mask is refused; installing twice replaces the soft mask's own masks.
   */
  @Test
  void installRefusesAParameterThatHoldsAnotherMask() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      try (SoftMask mask =
              SoftMask.create(
                  model.params, Selection.parse("cross-attn"), MaskSettings.DEFAULT, m);
          NDManager step = m.newSubManager()) {
        mask.install(step);
        mask.install(step);
        assertTrue(mask.isInstalled());
        mask.uninstall();
        setLogits(mask, TO_K, Map.of(0, -1f));
        BinaryMask hard = mask.toBinary(HASH, "p-esd", "", "{}");
        hard.applyTo(model.params, HASH);
        assertThrows(IllegalStateException.class, () -> mask.install(step));
        hard.removeFrom(model.params);
      }
      assertThrows(
          BadInputException.class,
          () -> SoftMask.create(model.params, Selection.regex("nothing"), MaskSettings.DEFAULT, m));
    }
  }

  private static void setLogits(SoftMask mask, String name, Map<Integer, Float> values) {
    NDArray s = mask.namedLogits().get(name);
    float[] v = s.toFloatArray();
    values.forEach((i, x) -> v[i] = x);
    s.set(FloatBuffer.wrap(v));
  }

  static Map<String, float[]> snapshot(MiniUNetParams model) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Param p : model.params.named().values()) {
      out.put(p.name(), p.value().toFloatArray());
    }
    return out;
  }

  static void assertSnapshotEquals(Map<String, float[]> before, MiniUNetParams model) {
    for (Param p : model.params.named().values()) {
      // bit for bit: JUnit compares floats by floatToIntBits
      assertArrayEquals(before.get(p.name()), p.value().toFloatArray(), p.name() + " changed");
    }
  }
}

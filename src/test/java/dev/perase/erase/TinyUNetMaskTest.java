package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole mask path on the real tiny UNet of the fixture: a soft mask over the cross-attention
 * trained for a few steps of an ESD-shaped objective (the frozen θ* is the same weights with masks
 * off), its hard mask written, read, applied and removed. Few steps with a large learning rate keep
 * the test short; it checks the plumbing, not the paper's schedule.
 */
class TinyUNetMaskTest {
  private static final String HASH = "a1b2c3";
  private static final int STEPS = 3;

  @TempDir Path tmp;

  @Test
  void softMaskTrainedOnTheTinyUnetGivesAHardMaskThatRoundTrips() {
    try (NDManager m = Torch.newManager();
        SafeTensors ref = SafeTensors.open(Fixtures.reference("unet.safetensors"));
        SafeTensors weights =
            SafeTensors.open(
                Fixtures.tinySd().resolve("unet").resolve("diffusion_pytorch_model.safetensors"))) {
      UNet2DConditionModel unet = UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), m);
      Shape xShape = new Shape(ref.info("extra.sample").shape());
      Shape cShape = new Shape(ref.info("extra.encoder_hidden_states").shape());
      float[] x = ref.floats("extra.sample");
      float[] c = ref.floats("extra.encoder_hidden_states");
      Torch.seed(0);
      float[] c0 = m.randomNormal(cShape).toFloatArray(); // stands in for the embedding of ""
      float[] base = forward(unet, m, x, xShape, c, cShape);
      // ESD target (Eq. 2, η = 1) from the frozen θ*: ε*(c₀) − (ε*(c) − ε*(c₀))
      float[] e0 = forward(unet, m, x, xShape, c0, cShape);
      float[] target = new float[base.length];
      for (int i = 0; i < target.length; i++) {
        target[i] = e0[i] - (base[i] - e0[i]);
      }
      Map<String, float[]> before = new LinkedHashMap<>();
      for (Param p : unet.params().named().values()) {
        before.put(p.name(), p.value().toFloatArray());
      }

      Set<String> attn2 = new HashSet<>();
      for (String k : weights.keys()) {
        if (k.contains("attn2")) {
          attn2.add(k);
        }
      }
      try (SoftMask mask =
          SoftMask.create(unet.params(), Selection.parse("cross-attn"), MaskSettings.DEFAULT, m)) {
        Set<String> selected = new HashSet<>(mask.namedLogits().keySet());
        assertEquals(attn2, selected);
        assertEquals(30, selected.size()); // 6 transformer blocks × to_q, to_k, to_v, to_out.0 w+b

        AdamW opt = AdamW.withDefaults(mask.logits(), m, 0.5);
        for (int step = 0; step < STEPS; step++) {
          try (StepScope st = StepScope.open(m, new NDList(mask.logits()))) {
            NDManager sm = st.manager();
            NDArray xs = sm.create(x, xShape);
            NDArray cs = sm.create(c, cShape);
            NDArray t = sm.create(new float[] {500f});
            mask.install(sm);
            try {
              try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                if (step == 0) {
                  // θ* is the same weights with the masks switched off: no second copy
                  NDArray off = unet.params().withMasksOff(() -> unet.forward(xs, t, cs));
                  assertArrayEquals(base, off.toFloatArray(), "θ* with masks off");
                }
                NDArray eps = unet.forward(xs, t, cs);
                // a sum, not the paper's mean, and lr 0.5: a few steps must push some s below 0
                NDArray loss = eps.sub(sm.create(target, eps.getShape())).square().sum();
                gc.backward(loss);
              }
              opt.step(mask::gradient);
            } finally {
              mask.uninstall();
            }
          }
        }
        SoftMask.Stats stats = mask.stats();
        BinaryMask hard = mask.toBinary(HASH, "p-esd", "test", "{\"steps\": " + STEPS + "}");
        System.out.printf(
            "tiny UNet, %d P-ESD-shaped steps on cross-attn: mask mean %.6f, pruned %d of %d%n",
            STEPS, stats.mean(), stats.pruned(), mask.elementCount());
        assertTrue(hard.prunedCount() > 0, "nothing pruned after " + STEPS + " steps");
        assertEquals(stats.pruned(), hard.prunedCount());
        for (Map.Entry<String, BinaryMask.Pruned> e : hard.perParameter().entrySet()) {
          assertTrue(e.getKey().contains("attn2"), e.getKey());
        }

        Path file = tmp.resolve("mask.safetensors");
        hard.write(file);
        BinaryMask read = BinaryMask.read(file);
        hard.applyTo(unet.params(), HASH);
        float[] inMemory = forward(unet, m, x, xShape, c, cShape);
        hard.removeFrom(unet.params());
        read.applyTo(unet.params(), HASH);
        float[] fromFile = forward(unet, m, x, xShape, c, cShape);
        for (Param p : unet.params().named().values()) {
          if (!p.name().contains("attn2")) {
            assertNull(p.mask(), p.name() + " masked outside the selection");
          }
        }
        read.removeFrom(unet.params());
        float[] restored = forward(unet, m, x, xShape, c, cShape);
        assertArrayEquals(inMemory, fromFile, "hard mask from the file vs in memory");
        assertArrayEquals(base, restored, "UNet after removing the mask");
        double change = 0;
        for (int i = 0; i < base.length; i++) {
          change = Math.max(change, Math.abs(base[i] - inMemory[i]));
        }
        System.out.printf("tiny UNet: max |Δ noise_pred| with the hard mask = %.3g%n", change);
        assertTrue(change > 0, "the hard mask did not change the output");
      }
      for (Param p : unet.params().named().values()) {
        assertArrayEquals(before.get(p.name()), p.value().toFloatArray(), p.name() + " changed");
        assertNull(p.mask());
        assertSame(p.value(), p.effective());
      }
    }
  }

  private static float[] forward(
      UNet2DConditionModel unet, NDManager m, float[] x, Shape xs, float[] c, Shape cs) {
    try (NDManager sub = m.newSubManager()) {
      return unet.forward(sub.create(x, xs), sub.create(new float[] {500f}), sub.create(c, cs))
          .toFloatArray();
    }
  }
}

package dev.perase.model.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Activation checkpointing ({@link UNet2DConditionModel#lossBackwardCheckpointed}) gives the loss
 * and every weight's gradient of a plain forward and backward, on the tiny SD UNet (cross-attention
 * and plain blocks), at a side the upsamplers must resize to (15) and at one they need not, with
 * every weight trained or only the cross attentions (nothing trained upstream of some segments).
 */
class CheckpointedBackwardTest {
  @ParameterizedTest
  @CsvSource({"16, 2, false", "15, 1, false", "16, 1, true"})
  void gradientsEqualThePlainBackward(int side, int batch, boolean crossAttnOnly) throws Exception {
    try (NDManager manager = Torch.newManager()) {
      UNet2DConditionModel unet =
          UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), manager);
      // all weights, or only the cross attentions' (P-ESD's cross-attn selection: the time
      // embedding and the first and last layers get no gradient)
      Map<String, Param> trained = new LinkedHashMap<>();
      for (Map.Entry<String, Param> e : unet.params().named().entrySet()) {
        if (!crossAttnOnly || e.getKey().contains(".attn2.")) {
          e.getValue().value().setRequiresGradient(true);
          trained.put(e.getKey(), e.getValue());
        }
      }
      Torch.seed(7);
      NDArray sample = manager.randomNormal(new Shape(batch, 4, side, side));
      NDArray text = manager.randomNormal(new Shape(batch, 77, 32));
      NDArray target = manager.randomNormal(new Shape(batch, 4, side, side));
      NDArray timestep = manager.create(new float[] {401f});

      Map<String, float[]> plain = new LinkedHashMap<>();
      float plainLoss;
      try (NDManager sub = manager.newSubManager()) {
        sub.tempAttachAll(unet.params().arrays());
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          NDArray loss = unet.forward(sample, timestep, text).sub(target).square().mean();
          plainLoss = loss.getFloat();
          gc.backward(loss);
        }
        for (Map.Entry<String, Param> e : trained.entrySet()) {
          NDArray g = e.getValue().value().getGradient();
          plain.put(e.getKey(), g.toFloatArray());
          g.subi(g);
        }
      }
      unet.checkpointActivations(true);
      float loss;
      try (NDManager sub = manager.newSubManager()) {
        sub.tempAttachAll(unet.params().arrays());
        NDArray x = sample.duplicate();
        x.attach(sub);
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          loss =
              unet.lossBackwardCheckpointed(x, timestep, text, p -> p.sub(target).square().mean());
        }
      }
      assertEquals(plainLoss, loss, 1e-6f * Math.abs(plainLoss));
      // a gradient that cancels in theory (a conv bias just before a GroupNorm) is rounding noise
      // of the size of its layer's terms, so each tensor is compared against the largest gradient
      // of the model too: |Δ| ≤ 1e-4 · max(max |g| of the tensor, 1e-3 · max |g| of the model).
      // Measured: every tensor with a real gradient within 1e-5 of its max |g|; the worst, 5e-5 of
      // the bound, are conv1 and time_emb_proj biases whose gradient is 3e-8 of the model's.
      float global = 0;
      for (float[] a : plain.values()) {
        for (float v : a) {
          global = Math.max(global, Math.abs(v));
        }
      }
      int compared = 0;
      float worst = 0;
      for (Map.Entry<String, Param> e : trained.entrySet()) {
        float[] a = plain.get(e.getKey());
        float[] b = e.getValue().value().getGradient().toFloatArray();
        float scale = 0;
        float diff = 0;
        for (int i = 0; i < a.length; i++) {
          scale = Math.max(scale, Math.abs(a[i]));
          diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        float bound = Math.max(scale, 1e-3f * global);
        worst = Math.max(worst, diff / bound);
        assertTrue(
            diff <= 1e-4f * bound,
            e.getKey() + ": max |Δ| " + diff + " against max |g| " + scale + ", model " + global);
        compared++;
      }
      System.out.printf("checkpointed backward: worst |Δ| / bound %.3g%n", worst);
      assertEquals(trained.size(), compared);
      assertTrue(compared > 0);
    }
  }
}

package dev.perase.model.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.Fixtures;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UNetFlopsTest {

  @Test
  void convFlopsMatchAHandCount() {
    // conv_in of the tiny UNet on a batch of 2 latents of 16×16: 32 output channels, each output
    // position sums 4 input channels × 3×3 taps = 36 MACs; 2·32·16·16 = 16384 outputs → 589,824
    // MACs → 1,179,648 FLOPs.
    assertEquals(1_179_648L, UNetFlops.conv2d(2, 4, 32, 3, 16, 16));
    // a linear: 77 tokens, 32 → 64: 77·32·64 = 157,696 MACs
    assertEquals(315_392L, UNetFlops.linear(77, 32, 64));
  }

  /**
   * The architecture walk agrees with a count made from the loaded model itself: every conv/linear
   * weight's element count (its MACs per output position) times the positions it was applied at,
   * read from the shapes of the tapped module outputs of a real forward at an odd latent size, plus
   * the attention matmuls of every tapped Attention.
   */
  @Test
  void forwardFlopsMatchACountFromTheModelsWeightsAndActivations() {
    long batch = 2, height = 9, width = 11, text = 77;
    try (NDManager m = Torch.newManager()) {
      UNet2DConditionModel unet = UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), m);
      Map<String, long[]> shapes = new HashMap<>();
      unet.forward(
          m.randomNormal(new Shape(batch, 4, height, width)),
          m.create(10L),
          m.randomNormal(new Shape(batch, text, 32)),
          (name, value) -> shapes.put(name, value.getShape().getShape()));

      long macs = 0;
      for (Param p : unet.params().named().values()) {
        String name = p.name();
        if (!p.maskable() || !name.endsWith(".weight")) {
          continue;
        }
        long positions;
        if (name.startsWith("time_embedding.") || name.contains(".time_emb_proj.")) {
          positions = batch;
        } else if (name.contains("attn2.to_k.") || name.contains("attn2.to_v.")) {
          positions = batch * text;
        } else {
          positions = positionsOfNearestTap(name, shapes);
        }
        macs += p.numel() * positions;
      }
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        String name = e.getKey();
        if (!name.endsWith(".attn1") && !name.endsWith(".attn2")) {
          continue;
        }
        long[] s = e.getValue(); // (B, N, C)
        long inner = unet.params().get(name + ".to_q.weight").value().getShape().get(0);
        long keys = name.endsWith(".attn1") ? s[1] : text;
        macs += 2 * s[0] * s[1] * keys * inner; // Q·Kᵀ and softmax·V, all heads
      }
      long walked = UNetFlops.forward(unet.config(), batch, height, width, text);
      assertTrue(macs > 0);
      assertEquals(2 * macs, walked);
      System.out.println("tiny UNet forward, batch 2, 9×11 latents: " + walked + " FLOPs");
    }
  }

  /** B·H·W (or B·N for token outputs) of the nearest enclosing module that was tapped. */
  private static long positionsOfNearestTap(String paramName, Map<String, long[]> shapes) {
    String path = paramName.substring(0, paramName.length() - ".weight".length());
    while (!shapes.containsKey(path)) {
      int dot = path.lastIndexOf('.');
      if (dot < 0) {
        throw new AssertionError("no tapped module encloses " + paramName);
      }
      path = path.substring(0, dot);
    }
    long[] s = shapes.get(path);
    return s.length == 4 ? s[0] * s[2] * s[3] : s[0] * s[1];
  }
}

package dev.perase.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pruned weights of a hand-made mask over the world UNet, by layer, layer type and block. */
class PrunedWeightsTest {
  private static final String T = "down_blocks.1.attentions.0.transformer_blocks.0.";

  private static BinaryMask mask() {
    Map<String, Param.Kind> keys = new LinkedHashMap<>();
    keys.put("conv_in.weight", Param.Kind.CONV);
    keys.put("time_embedding.linear_1.weight", Param.Kind.LINEAR);
    keys.put("down_blocks.0.resnets.0.conv1.weight", Param.Kind.CONV);
    keys.put("down_blocks.0.resnets.0.conv1.bias", Param.Kind.CONV);
    keys.put("down_blocks.0.resnets.0.time_emb_proj.weight", Param.Kind.LINEAR);
    keys.put("down_blocks.1.attentions.0.proj_in.weight", Param.Kind.CONV);
    keys.put(T + "attn1.to_q.weight", Param.Kind.LINEAR);
    keys.put(T + "attn2.to_k.weight", Param.Kind.LINEAR);
    keys.put(T + "ff.net.2.weight", Param.Kind.LINEAR);
    keys.put("up_blocks.0.upsamplers.0.conv.weight", Param.Kind.CONV);
    keys.put("up_blocks.2.resnets.1.conv_shortcut.weight", Param.Kind.CONV);
    // after the up blocks, as the UNet loads it: the blocks are listed in forward order anyway
    keys.put("mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight", Param.Kind.LINEAR);
    Map<String, BinaryMask.Pruned> pruned = new LinkedHashMap<>();
    try (SafeTensors st =
        SafeTensors.open(
            ActivationsTest.WORLD.resolve("unet/diffusion_pytorch_model.safetensors"))) {
      int stride = 5;
      for (Map.Entry<String, Param.Kind> e : keys.entrySet()) {
        int n = (int) st.info(e.getKey()).numel();
        int[] idx = new int[(n + stride - 1) / stride];
        for (int i = 0; i < idx.length; i++) {
          idx[i] = i * stride;
        }
        pruned.put(
            e.getKey(), new BinaryMask.Pruned(st.info(e.getKey()).shape(), e.getValue(), idx));
        stride++;
      }
    }
    MaskMetadata md = new MaskMetadata("abc", "regex:test", "p-esd", 10, 0.5, "star", null, "{}");
    return BinaryMask.of(md, pruned);
  }

  private static long[] sums(List<PrunedWeights.Group> groups) {
    long[] s = new long[3];
    for (PrunedWeights.Group g : groups) {
      s[0] += g.pruned();
      s[1] += g.total();
      s[2] += g.tensors();
    }
    return s;
  }

  @Test
  void countsByLayerTypeAndBlockSumToTheMasksPrunedCount() {
    BinaryMask mask = mask();
    PrunedWeights p = PrunedWeights.of(mask);
    long[] expected = {mask.prunedCount(), mask.totalElements(), 12};
    for (List<PrunedWeights.Group> groups : List.of(p.byLayer(), p.byLayerType(), p.byBlock())) {
      long[] s = sums(groups);
      assertEquals(expected[0], s[0]);
      assertEquals(expected[1], s[1]);
      assertEquals(expected[2], s[2]);
    }
    assertEquals(mask.prunedCount(), p.pruned());

    Map<String, PrunedWeights.Group> byType = new LinkedHashMap<>();
    p.byLayerType().forEach(g -> byType.put(g.name(), g));
    assertEquals(
        List.of(
            "conv conv_in",
            "linear time-emb",
            "conv resnet",
            "conv proj",
            "linear attn1",
            "linear attn2",
            "linear ff",
            "conv sampler"),
        List.copyOf(byType.keySet()));
    assertEquals(2, byType.get("linear time-emb").tensors(), "the MLP and a resnet's projection");
    assertEquals(2, byType.get("linear attn2").tensors());
    assertEquals(3, byType.get("conv resnet").tensors(), "conv1 weight and bias, a shortcut");

    List<String> blocks = p.byBlock().stream().map(PrunedWeights.Group::name).toList();
    assertEquals(
        List.of("conv_in", "time_embedding", "down.0", "down.1", "mid", "up.0", "up.2"), blocks);

    PrunedWeights.Group conv1 = p.byLayer().get(2);
    assertEquals("down_blocks.0.resnets.0.conv1", conv1.name());
    assertEquals(2, conv1.tensors(), "weight and bias of one layer");
    assertEquals("conv resnet", conv1.layerType());
    assertEquals("down.0", conv1.block());

    String csv = p.toCsv();
    assertEquals(1 + 11 + 8 + 7 + 1, csv.split("\r\n").length);
    assertEquals(
        "all,all,,,12,"
            + mask.prunedCount()
            + ","
            + mask.totalElements()
            + ","
            + String.format(java.util.Locale.ROOT, "%.6g", mask.ratio()),
        csv.split("\r\n")[27]);
  }
}

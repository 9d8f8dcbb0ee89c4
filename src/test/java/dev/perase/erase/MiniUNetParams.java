package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.LayerNorm;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Weights;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small model whose parameters carry the keys of a diffusers UNet2DConditionModel (one resnet,
 * one transformer block with attn1 / attn2 / ff, a downsampler, time embedding, in/out convs and
 * their norms), loaded through the real layer classes so that kinds and maskability are the real
 * ones.
 */
final class MiniUNetParams {
  static final int C = 8;
  static final int CROSS = 6;
  static final int TEMB = 16;

  final ParamSet params;
  final Linear attn2ToK;
  final Linear attn2ToV;
  final Linear attn1ToQ;
  final Conv2d convIn;

  /** Every key below with its shape, in load order. */
  static final Map<String, long[]> SHAPES = new LinkedHashMap<>();

  static {
    put("conv_in.weight", C, 4, 3, 3);
    put("conv_in.bias", C);
    put("time_embedding.linear_1.weight", TEMB, C);
    put("time_embedding.linear_1.bias", TEMB);
    put("time_embedding.linear_2.weight", TEMB, TEMB);
    put("time_embedding.linear_2.bias", TEMB);
    String r = "down_blocks.0.resnets.0.";
    put(r + "norm1.weight", C);
    put(r + "norm1.bias", C);
    put(r + "conv1.weight", C, C, 3, 3);
    put(r + "conv1.bias", C);
    put(r + "time_emb_proj.weight", C, TEMB);
    put(r + "time_emb_proj.bias", C);
    put(r + "norm2.weight", C);
    put(r + "norm2.bias", C);
    put(r + "conv2.weight", C, C, 3, 3);
    put(r + "conv2.bias", C);
    String a = "down_blocks.1.attentions.0.";
    put(a + "norm.weight", C);
    put(a + "norm.bias", C);
    put(a + "proj_in.weight", C, C, 1, 1);
    put(a + "proj_in.bias", C);
    String t = a + "transformer_blocks.0.";
    put(t + "norm1.weight", C);
    put(t + "norm1.bias", C);
    put(t + "attn1.to_q.weight", C, C);
    put(t + "attn1.to_k.weight", C, C);
    put(t + "attn1.to_v.weight", C, C);
    put(t + "attn1.to_out.0.weight", C, C);
    put(t + "attn1.to_out.0.bias", C);
    put(t + "norm2.weight", C);
    put(t + "norm2.bias", C);
    put(t + "attn2.to_q.weight", C, C);
    put(t + "attn2.to_k.weight", C, CROSS);
    put(t + "attn2.to_v.weight", C, CROSS);
    put(t + "attn2.to_out.0.weight", C, C);
    put(t + "attn2.to_out.0.bias", C);
    put(t + "norm3.weight", C);
    put(t + "norm3.bias", C);
    put(t + "ff.net.0.proj.weight", 4 * C, C);
    put(t + "ff.net.0.proj.bias", 4 * C);
    put(t + "ff.net.2.weight", C, 2 * C);
    put(t + "ff.net.2.bias", C);
    put(a + "proj_out.weight", C, C, 1, 1);
    put(a + "proj_out.bias", C);
    put("down_blocks.1.downsamplers.0.conv.weight", C, C, 3, 3);
    put("down_blocks.1.downsamplers.0.conv.bias", C);
    put("conv_norm_out.weight", C);
    put("conv_norm_out.bias", C);
    put("conv_out.weight", 4, C, 3, 3);
    put("conv_out.bias", 4);
  }

  /** Keys of the conv and linear parameters whose name contains attn2. */
  static final List<String> ATTN2 =
      List.of(
          "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q.weight",
          "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
          "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight",
          "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.weight",
          "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.bias");

  private static void put(String key, long... shape) {
    SHAPES.put(key, shape);
  }

  /** Random N(0, 1) weights in {@code m} (seed the engine first for fixed values). */
  MiniUNetParams(NDManager m) {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : SHAPES.entrySet()) {
      tensors.put(e.getKey(), m.randomNormal(new Shape(e.getValue())));
    }
    StateDict sd = new StateDict("mini-unet", tensors);
    Weights w = sd.root();
    convIn = Conv2d.load(w.child("conv_in"), 4, C, 3, 1, 1);
    Weights te = w.child("time_embedding");
    Linear.load(te.child("linear_1"), C, TEMB);
    Linear.load(te.child("linear_2"), TEMB, TEMB);
    Weights r = w.child("down_blocks").child(0).child("resnets").child(0);
    GroupNorm.load(r.child("norm1"), 2, C, 1e-5f);
    Conv2d.load(r.child("conv1"), C, C, 3, 1, 1);
    Linear.load(r.child("time_emb_proj"), TEMB, C);
    GroupNorm.load(r.child("norm2"), 2, C, 1e-5f);
    Conv2d.load(r.child("conv2"), C, C, 3, 1, 1);
    Weights a = w.child("down_blocks").child(1).child("attentions").child(0);
    GroupNorm.load(a.child("norm"), 2, C, 1e-6f);
    Conv2d.load(a.child("proj_in"), C, C, 1, 1, 0);
    Weights t = a.child("transformer_blocks").child(0);
    LayerNorm.load(t.child("norm1"), C, 1e-5f);
    attn1ToQ = Linear.load(t.child("attn1").child("to_q"), C, C, false);
    Linear.load(t.child("attn1").child("to_k"), C, C, false);
    Linear.load(t.child("attn1").child("to_v"), C, C, false);
    Linear.load(t.child("attn1").child("to_out").child(0), C, C);
    LayerNorm.load(t.child("norm2"), C, 1e-5f);
    Linear.load(t.child("attn2").child("to_q"), C, C, false);
    attn2ToK = Linear.load(t.child("attn2").child("to_k"), CROSS, C, false);
    attn2ToV = Linear.load(t.child("attn2").child("to_v"), CROSS, C, false);
    Linear.load(t.child("attn2").child("to_out").child(0), C, C);
    LayerNorm.load(t.child("norm3"), C, 1e-5f);
    Linear.load(t.child("ff").child("net").child(0).child("proj"), C, 4 * C);
    Linear.load(t.child("ff").child("net").child(2), 2 * C, C);
    Conv2d.load(a.child("proj_out"), C, C, 1, 1, 0);
    Conv2d.load(
        w.child("down_blocks").child(1).child("downsamplers").child(0).child("conv"),
        C,
        C,
        3,
        2,
        1);
    GroupNorm.load(w.child("conv_norm_out"), 2, C, 1e-5f);
    Conv2d.load(w.child("conv_out"), C, 4, 3, 1, 1);
    sd.requireAllUsed();
    params = sd.params();
  }
}

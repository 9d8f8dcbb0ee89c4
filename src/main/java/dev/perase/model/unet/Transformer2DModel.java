package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code Transformer2DModel} for continuous inputs: GroupNorm (eps 1e-6), {@code
 * proj_in} to the inner width (a 1×1 conv, or a Linear on the flattened tokens when
 * use_linear_projection, as SD 2), the BasicTransformerBlocks over the H·W tokens, {@code proj_out}
 * back, plus the residual. inner = heads · (channels / heads).
 */
public final class Transformer2DModel {
  public final String path;
  public final GroupNorm norm;
  private final Conv2d projInConv;
  private final Linear projInLinear;
  public final List<BasicTransformerBlock> transformerBlocks;
  private final Conv2d projOutConv;
  private final Linear projOutLinear;
  private final boolean useLinearProjection;

  private Transformer2DModel(
      String path,
      GroupNorm norm,
      Conv2d projInConv,
      Linear projInLinear,
      List<BasicTransformerBlock> transformerBlocks,
      Conv2d projOutConv,
      Linear projOutLinear,
      boolean useLinearProjection) {
    this.path = path;
    this.norm = norm;
    this.projInConv = projInConv;
    this.projInLinear = projInLinear;
    this.transformerBlocks = List.copyOf(transformerBlocks);
    this.projOutConv = projOutConv;
    this.projOutLinear = projOutLinear;
    this.useLinearProjection = useLinearProjection;
  }

  public static Transformer2DModel load(
      Weights w,
      int heads,
      int inChannels,
      int numLayers,
      int crossAttentionDim,
      int normNumGroups,
      boolean useLinearProjection) {
    int dimHead = inChannels / heads;
    int inner = heads * dimHead;
    GroupNorm norm = GroupNorm.load(w.child("norm"), normNumGroups, inChannels, 1e-6f);
    Conv2d inConv = null;
    Linear inLinear = null;
    if (useLinearProjection) {
      inLinear = Linear.load(w.child("proj_in"), inChannels, inner);
    } else {
      inConv = Conv2d.load(w.child("proj_in"), inChannels, inner, 1, 1, 0);
    }
    List<BasicTransformerBlock> blocks = new ArrayList<>();
    for (int i = 0; i < numLayers; i++) {
      blocks.add(
          BasicTransformerBlock.load(
              w.child("transformer_blocks").child(i), inner, heads, dimHead, crossAttentionDim));
    }
    Conv2d outConv = null;
    Linear outLinear = null;
    if (useLinearProjection) {
      outLinear = Linear.load(w.child("proj_out"), inner, inChannels);
    } else {
      outConv = Conv2d.load(w.child("proj_out"), inner, inChannels, 1, 1, 0);
    }
    return new Transformer2DModel(
        w.prefix(), norm, inConv, inLinear, blocks, outConv, outLinear, useLinearProjection);
  }

  /** x (B, C, H, W), text (B, M, cross_dim) → (B, C, H, W). */
  public NDArray forward(NDArray hiddenStates, NDArray encoderHiddenStates, Taps taps) {
    long[] s = hiddenStates.getShape().getShape();
    long batch = s[0], height = s[2], width = s[3];
    NDArray residual = hiddenStates;

    // 1. input: norm, project, flatten to tokens (B, H·W, inner)
    hiddenStates = norm.forward(hiddenStates);
    long inner;
    if (!useLinearProjection) {
      hiddenStates = projInConv.forward(hiddenStates);
      inner = hiddenStates.getShape().get(1);
      hiddenStates = hiddenStates.transpose(0, 2, 3, 1).reshape(batch, height * width, inner);
    } else {
      long c = hiddenStates.getShape().get(1);
      hiddenStates = hiddenStates.transpose(0, 2, 3, 1).reshape(batch, height * width, c);
      hiddenStates = projInLinear.forward(hiddenStates);
      inner = hiddenStates.getShape().get(2);
    }

    // 2. blocks
    for (BasicTransformerBlock block : transformerBlocks) {
      hiddenStates = block.forward(hiddenStates, encoderHiddenStates, taps);
    }

    // 3. output: back to (B, C, H, W), project, add the residual
    if (!useLinearProjection) {
      hiddenStates = hiddenStates.reshape(batch, height, width, inner).transpose(0, 3, 1, 2);
      hiddenStates = projOutConv.forward(hiddenStates);
    } else {
      hiddenStates = projOutLinear.forward(hiddenStates);
      long c = hiddenStates.getShape().get(2);
      hiddenStates = hiddenStates.reshape(batch, height, width, c).transpose(0, 3, 1, 2);
    }
    NDArray output = hiddenStates.add(residual);
    taps.record(path, output);
    return output;
  }
}

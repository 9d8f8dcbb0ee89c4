package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnUpBlock2D}: for each layer, concatenate [hidden, skip] along channels
 * (skips popped newest first), resnet, Transformer2DModel; then an optional Upsample2D.
 */
public final class CrossAttnUpBlock2D implements UNetUpBlock {
  public final List<ResnetBlock2D> resnets;
  public final List<Transformer2DModel> attentions;
  public final Upsample2D upsampler;

  private CrossAttnUpBlock2D(
      List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Upsample2D upsampler) {
    this.resnets = List.copyOf(resnets);
    this.attentions = List.copyOf(attentions);
    this.upsampler = upsampler;
  }

  public static CrossAttnUpBlock2D load(
      Weights w,
      int numLayers,
      int transformerLayersPerBlock,
      int inChannels,
      int outChannels,
      int prevOutputChannel,
      int tembChannels,
      boolean addUpsample,
      float resnetEps,
      int resnetGroups,
      int crossAttentionDim,
      int numAttentionHeads,
      boolean useLinearProjection) {
    List<ResnetBlock2D> resnets = new ArrayList<>();
    List<Transformer2DModel> attentions = new ArrayList<>();
    // attentions before resnets: diffusers' registration order, so params() follows
    // named_parameters()
    for (int i = 0; i < numLayers; i++) {
      attentions.add(
          Transformer2DModel.load(
              w.child("attentions").child(i),
              numAttentionHeads,
              outChannels,
              transformerLayersPerBlock,
              crossAttentionDim,
              resnetGroups,
              useLinearProjection));
    }
    for (int i = 0; i < numLayers; i++) {
      int resSkipChannels = i == numLayers - 1 ? inChannels : outChannels;
      int resnetInChannels = i == 0 ? prevOutputChannel : outChannels;
      resnets.add(
          ResnetBlock2D.load(
              w.child("resnets").child(i),
              resnetInChannels + resSkipChannels,
              outChannels,
              tembChannels,
              resnetGroups,
              resnetEps,
              1.0));
    }
    Upsample2D up =
        addUpsample
            ? Upsample2D.load(w.child("upsamplers").child(0), outChannels, outChannels)
            : null;
    return new CrossAttnUpBlock2D(resnets, attentions, up);
  }

  @Override
  public int numResnets() {
    return resnets.size();
  }

  @Override
  public NDArray layer(
      int i,
      NDArray hiddenStates,
      NDArray resHidden,
      NDArray temb,
      NDArray encoderHiddenStates,
      Taps taps) {
    NDArray h = hiddenStates.concat(resHidden, 1); // (B, C + C_skip, H, W)
    h = resnets.get(i).forward(h, temb, taps);
    return attentions.get(i).forward(h, encoderHiddenStates, taps);
  }

  @Override
  public Upsample2D upsampler() {
    return upsampler;
  }
}

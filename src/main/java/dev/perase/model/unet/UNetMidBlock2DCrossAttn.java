package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UNetMidBlock2DCrossAttn} (num_layers 1): resnets.0, then (Transformer2DModel →
 * resnet) pairs; the resnets use {@code mid_block_scale_factor} as output_scale_factor.
 */
public final class UNetMidBlock2DCrossAttn {
  public final List<ResnetBlock2D> resnets;
  public final List<Transformer2DModel> attentions;

  private UNetMidBlock2DCrossAttn(
      List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions) {
    this.resnets = List.copyOf(resnets);
    this.attentions = List.copyOf(attentions);
  }

  public static UNetMidBlock2DCrossAttn load(
      Weights w,
      int inChannels,
      int tembChannels,
      float resnetEps,
      int resnetGroups,
      double outputScaleFactor,
      int transformerLayersPerBlock,
      int crossAttentionDim,
      int numAttentionHeads,
      boolean useLinearProjection) {
    int numLayers = 1;
    List<ResnetBlock2D> resnets = new ArrayList<>();
    List<Transformer2DModel> attentions = new ArrayList<>();
    // attentions before resnets: diffusers' registration order, so params() follows
    // named_parameters()
    for (int i = 0; i < numLayers; i++) {
      attentions.add(
          Transformer2DModel.load(
              w.child("attentions").child(i),
              numAttentionHeads,
              inChannels,
              transformerLayersPerBlock,
              crossAttentionDim,
              resnetGroups,
              useLinearProjection));
    }
    for (int i = 0; i < numLayers + 1; i++) {
      resnets.add(
          ResnetBlock2D.load(
              w.child("resnets").child(i),
              inChannels,
              inChannels,
              tembChannels,
              resnetGroups,
              resnetEps,
              outputScaleFactor));
    }
    return new UNetMidBlock2DCrossAttn(resnets, attentions);
  }

  public NDArray forward(
      NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps) {
    hiddenStates = resnets.get(0).forward(hiddenStates, temb, taps);
    for (int i = 0; i < attentions.size(); i++) {
      hiddenStates = attentions.get(i).forward(hiddenStates, encoderHiddenStates, taps);
      hiddenStates = resnets.get(i + 1).forward(hiddenStates, temb, taps);
    }
    return hiddenStates;
  }
}

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
    for (int k = 0; k < numLayers(); k++) {
      hiddenStates = layer(k, hiddenStates, temb, encoderHiddenStates, taps);
    }
    return hiddenStates;
  }

  /** The first resnet, then one layer per transformer (the transformer and the resnet after it). */
  public int numLayers() {
    return attentions.size() + 1;
  }

  /** Layer {@code k} of {@link #numLayers()}. */
  public NDArray layer(
      int k, NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps) {
    if (k == 0) {
      return resnets.get(0).forward(hiddenStates, temb, taps);
    }
    NDArray h = attentions.get(k - 1).forward(hiddenStates, encoderHiddenStates, taps);
    return resnets.get(k).forward(h, temb, taps);
  }
}

package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnDownBlock2D}: (resnet → Transformer2DModel) pairs, then an optional
 * Downsample2D; every pair's output and the downsampler's are skips.
 */
public final class CrossAttnDownBlock2D implements UNetDownBlock {
  public final List<ResnetBlock2D> resnets;
  public final List<Transformer2DModel> attentions;
  public final Downsample2D downsampler;

  private CrossAttnDownBlock2D(
      List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Downsample2D downsampler) {
    this.resnets = List.copyOf(resnets);
    this.attentions = List.copyOf(attentions);
    this.downsampler = downsampler;
  }

  public static CrossAttnDownBlock2D load(
      Weights w,
      int numLayers,
      int transformerLayersPerBlock,
      int inChannels,
      int outChannels,
      int tembChannels,
      boolean addDownsample,
      float resnetEps,
      int resnetGroups,
      int downsamplePadding,
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
      resnets.add(
          ResnetBlock2D.load(
              w.child("resnets").child(i),
              i == 0 ? inChannels : outChannels,
              outChannels,
              tembChannels,
              resnetGroups,
              resnetEps,
              1.0));
    }
    Downsample2D down =
        addDownsample
            ? Downsample2D.load(
                w.child("downsamplers").child(0), outChannels, outChannels, downsamplePadding)
            : null;
    return new CrossAttnDownBlock2D(resnets, attentions, down);
  }

  @Override
  public int numLayers() {
    return resnets.size();
  }

  @Override
  public NDArray layer(
      int i, NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps) {
    NDArray h = resnets.get(i).forward(hiddenStates, temb, taps);
    return attentions.get(i).forward(h, encoderHiddenStates, taps);
  }

  @Override
  public Downsample2D downsampler() {
    return downsampler;
  }
}

package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code DownBlock2D}: resnets, then an optional Downsample2D; every output is a skip.
 */
public final class DownBlock2D implements UNetDownBlock {
  public final List<ResnetBlock2D> resnets;
  public final Downsample2D downsampler;

  private DownBlock2D(List<ResnetBlock2D> resnets, Downsample2D downsampler) {
    this.resnets = List.copyOf(resnets);
    this.downsampler = downsampler;
  }

  public static DownBlock2D load(
      Weights w,
      int numLayers,
      int inChannels,
      int outChannels,
      int tembChannels,
      boolean addDownsample,
      float resnetEps,
      int resnetGroups,
      int downsamplePadding) {
    List<ResnetBlock2D> resnets = new ArrayList<>();
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
    return new DownBlock2D(resnets, down);
  }

  @Override
  public int numLayers() {
    return resnets.size();
  }

  @Override
  public NDArray layer(
      int i, NDArray hiddenStates, NDArray temb, NDArray encoderHiddenStates, Taps taps) {
    return resnets.get(i).forward(hiddenStates, temb, taps);
  }

  @Override
  public Downsample2D downsampler() {
    return downsampler;
  }
}

package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpBlock2D}: each resnet takes the concatenation [hidden, skip] along channels
 * (skips popped newest first), then an optional Upsample2D.
 */
public final class UpBlock2D implements UNetUpBlock {
  public final List<ResnetBlock2D> resnets;
  public final Upsample2D upsampler;

  private UpBlock2D(List<ResnetBlock2D> resnets, Upsample2D upsampler) {
    this.resnets = List.copyOf(resnets);
    this.upsampler = upsampler;
  }

  public static UpBlock2D load(
      Weights w,
      int numLayers,
      int inChannels,
      int outChannels,
      int prevOutputChannel,
      int tembChannels,
      boolean addUpsample,
      float resnetEps,
      int resnetGroups) {
    List<ResnetBlock2D> resnets = new ArrayList<>();
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
    return new UpBlock2D(resnets, up);
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
    // (B, C + C_skip, H, W)
    return resnets.get(i).forward(hiddenStates.concat(resHidden, 1), temb, taps);
  }

  @Override
  public Upsample2D upsampler() {
    return upsampler;
  }
}

package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code DownEncoderBlock2D}: {@code layers_per_block} resnets, then a downsampler
 * except at the last level.
 */
final class DownEncoderBlock2D {
  final List<ResnetBlock2D> resnets = new ArrayList<>();
  final Downsample2D downsampler; // downsamplers.0, null at the last level

  DownEncoderBlock2D(Weights w, int in, int out, int layers, int groups, boolean addDownsample) {
    for (int i = 0; i < layers; i++) {
      resnets.add(new ResnetBlock2D(w.child("resnets").child(i), i == 0 ? in : out, out, groups));
    }
    downsampler = addDownsample ? new Downsample2D(w.child("downsamplers").child(0), out) : null;
  }

  NDArray forward(NDArray x) {
    for (ResnetBlock2D resnet : resnets) {
      x = resnet.forward(x);
    }
    return downsampler == null ? x : downsampler.forward(x);
  }
}

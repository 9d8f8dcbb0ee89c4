package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpDecoderBlock2D}: {@code layers_per_block + 1} resnets, then an upsampler
 * except at the last level.
 */
final class UpDecoderBlock2D {
  final List<ResnetBlock2D> resnets = new ArrayList<>();
  final Upsample2D upsampler; // upsamplers.0, null at the last level

  UpDecoderBlock2D(Weights w, int in, int out, int layers, int groups, boolean addUpsample) {
    for (int i = 0; i < layers; i++) {
      resnets.add(new ResnetBlock2D(w.child("resnets").child(i), i == 0 ? in : out, out, groups));
    }
    upsampler = addUpsample ? new Upsample2D(w.child("upsamplers").child(0), out) : null;
  }

  NDArray forward(NDArray x) {
    for (ResnetBlock2D resnet : resnets) {
      x = resnet.forward(x);
    }
    return upsampler == null ? x : upsampler.forward(x);
  }
}

package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Encoder} (double_z): conv_in → down_blocks → mid_block → conv_norm_out →
 * SiLU → conv_out, mapping an image (B, in, H, W) to the moments (B, 2·latent, H/f, W/f) of a
 * diagonal Gaussian, f = 2^(levels − 1).
 */
final class Encoder {
  final Conv2d convIn;
  final List<DownEncoderBlock2D> downBlocks = new ArrayList<>();
  final UNetMidBlock2D midBlock;
  final GroupNorm convNormOut;
  final Conv2d convOut;

  Encoder(Weights w, AutoencoderKLConfig c) {
    List<Integer> ch = c.blockOutChannels();
    int groups = c.normNumGroups();
    convIn = Conv2d.load(w.child("conv_in"), c.inChannels(), ch.get(0), 3, 1, 1);
    int out = ch.get(0);
    for (int i = 0; i < ch.size(); i++) {
      int in = out;
      out = ch.get(i);
      boolean last = i == ch.size() - 1;
      downBlocks.add(
          new DownEncoderBlock2D(
              w.child("down_blocks").child(i), in, out, c.layersPerBlock(), groups, !last));
    }
    int top = ch.get(ch.size() - 1);
    midBlock = new UNetMidBlock2D(w.child("mid_block"), top, groups, c.midBlockAddAttention());
    convNormOut = GroupNorm.load(w.child("conv_norm_out"), groups, top, ResnetBlock2D.EPS);
    convOut = Conv2d.load(w.child("conv_out"), top, 2 * c.latentChannels(), 3, 1, 1);
  }

  NDArray forward(NDArray sample) {
    return Scoped.call(
        sample,
        x -> {
          // 1. in
          NDArray h = convIn.forward(x);
          // 2. down
          for (DownEncoderBlock2D block : downBlocks) {
            h = block.forward(h);
          }
          // 3. mid
          h = midBlock.forward(h);
          // 4. out
          return convOut.forward(Ops.silu(convNormOut.forward(h)));
        });
  }
}

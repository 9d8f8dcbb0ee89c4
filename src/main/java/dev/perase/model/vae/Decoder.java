package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Decoder}: conv_in → mid_block → up_blocks (channels reversed, {@code
 * layers_per_block + 1} resnets each) → conv_norm_out → SiLU → conv_out, mapping a latent (B,
 * latent, h, w) to an image (B, out, h·f, w·f), f = 2^(levels − 1).
 */
final class Decoder {
  final Conv2d convIn;
  final UNetMidBlock2D midBlock;
  final List<UpDecoderBlock2D> upBlocks = new ArrayList<>();
  final GroupNorm convNormOut;
  final Conv2d convOut;

  Decoder(Weights w, AutoencoderKLConfig c) {
    List<Integer> ch = c.blockOutChannels();
    int n = ch.size();
    int groups = c.normNumGroups();
    int top = ch.get(n - 1);
    convIn = Conv2d.load(w.child("conv_in"), c.latentChannels(), top, 3, 1, 1);
    // up_blocks before mid_block: diffusers registers the ModuleList first, so its parameters come
    // first
    int out = top;
    for (int i = 0; i < n; i++) {
      int in = out;
      out = ch.get(n - 1 - i); // reversed(block_out_channels)[i]
      boolean last = i == n - 1;
      upBlocks.add(
          new UpDecoderBlock2D(
              w.child("up_blocks").child(i), in, out, c.layersPerBlock() + 1, groups, !last));
    }
    midBlock = new UNetMidBlock2D(w.child("mid_block"), top, groups, c.midBlockAddAttention());
    convNormOut = GroupNorm.load(w.child("conv_norm_out"), groups, ch.get(0), ResnetBlock2D.EPS);
    convOut = Conv2d.load(w.child("conv_out"), ch.get(0), c.outChannels(), 3, 1, 1);
  }

  NDArray forward(NDArray z) {
    return Scoped.call(
        z,
        x -> {
          // 1. in
          NDArray h = convIn.forward(x);
          // 2. mid
          h = midBlock.forward(h);
          // 3. up
          for (UpDecoderBlock2D block : upBlocks) {
            h = block.forward(h);
          }
          // 4. out
          return convOut.forward(Ops.silu(convNormOut.forward(h)));
        });
  }
}

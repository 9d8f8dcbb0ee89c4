package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;

/**
 * diffusers' {@code ResnetBlock2D} (time_embedding_norm "default", no up/down sampling):
 *
 * <pre>
 *   h   = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb))[:, :, None, None]
 *   h   = conv2(dropout(SiLU(norm2(h))))
 *   out = (shortcut(x) + h) / output_scale_factor
 * </pre>
 *
 * shortcut is a 1×1 {@code conv_shortcut} when the channel count changes, else the identity. The
 * SiLU output that feeds conv2 is tapped as {@code <path>.conv2_input}: the paper's concept-neuron
 * site (DESIGN.md §7).
 */
public final class ResnetBlock2D {
  public final String path;
  private final String conv2InputTap;
  public final GroupNorm norm1;
  public final Conv2d conv1;
  public final Linear timeEmbProj;
  public final GroupNorm norm2;
  public final Conv2d conv2;
  public final Conv2d convShortcut;
  private final double outputScaleFactor;

  private ResnetBlock2D(
      String path,
      GroupNorm norm1,
      Conv2d conv1,
      Linear timeEmbProj,
      GroupNorm norm2,
      Conv2d conv2,
      Conv2d convShortcut,
      double outputScaleFactor) {
    this.path = path;
    this.conv2InputTap = path + ".conv2_input";
    this.norm1 = norm1;
    this.conv1 = conv1;
    this.timeEmbProj = timeEmbProj;
    this.norm2 = norm2;
    this.conv2 = conv2;
    this.convShortcut = convShortcut;
    this.outputScaleFactor = outputScaleFactor;
  }

  public static ResnetBlock2D load(
      Weights w,
      int inChannels,
      int outChannels,
      int tembChannels,
      int groups,
      float eps,
      double outputScaleFactor) {
    return new ResnetBlock2D(
        w.prefix(),
        GroupNorm.load(w.child("norm1"), groups, inChannels, eps),
        Conv2d.load(w.child("conv1"), inChannels, outChannels, 3, 1, 1),
        Linear.load(w.child("time_emb_proj"), tembChannels, outChannels),
        GroupNorm.load(w.child("norm2"), groups, outChannels, eps),
        Conv2d.load(w.child("conv2"), outChannels, outChannels, 3, 1, 1),
        inChannels != outChannels
            ? Conv2d.load(w.child("conv_shortcut"), inChannels, outChannels, 1, 1, 0)
            : null,
        outputScaleFactor);
  }

  /** x (B, C_in, H, W), temb (B, temb_channels) → (B, C_out, H, W). */
  public NDArray forward(NDArray inputTensor, NDArray temb, Taps taps) {
    NDArray hiddenStates = norm1.forward(inputTensor);
    hiddenStates = Ops.silu(hiddenStates);
    hiddenStates = conv1.forward(hiddenStates);

    NDArray t = timeEmbProj.forward(Ops.silu(temb)); // (B, C_out)
    long[] s = t.getShape().getShape();
    hiddenStates = hiddenStates.add(t.reshape(s[0], s[1], 1, 1));

    hiddenStates = norm2.forward(hiddenStates);
    hiddenStates = Ops.silu(hiddenStates);
    // dropout: p = 0 (the config rejects anything else)
    taps.record(conv2InputTap, hiddenStates);
    hiddenStates = conv2.forward(hiddenStates);

    NDArray shortcut = convShortcut != null ? convShortcut.forward(inputTensor) : inputTensor;
    NDArray output = shortcut.add(hiddenStates);
    if (outputScaleFactor != 1.0) {
      // a scalar tensor kept in the step's manager, not div(Number): see Ops.scale
      output = output.div(output.getManager().create((float) outputScaleFactor));
    }
    taps.record(path, output);
    return output;
  }
}

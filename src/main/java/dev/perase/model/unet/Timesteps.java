package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * diffusers' {@code Timesteps}: the sinusoidal embedding of the timesteps ({@code
 * get_timestep_embedding}, max_period 10000, scale 1). With half = dim / 2,
 *
 * <pre>
 *   freqᵢ = exp(−ln(10000) · i / (half − freq_shift)),   i = 0 … half−1
 *   emb   = [sin(t·freq), cos(t·freq)]   (or [cos, sin] when flip_sin_to_cos)
 * </pre>
 *
 * computed in float32 with the same op order as diffusers. No parameters.
 */
public final class Timesteps {
  private final int numChannels;
  private final boolean flipSinToCos;
  private final double downscaleFreqShift;

  public Timesteps(int numChannels, boolean flipSinToCos, double downscaleFreqShift) {
    this.numChannels = numChannels;
    this.flipSinToCos = flipSinToCos;
    this.downscaleFreqShift = downscaleFreqShift;
  }

  /** timesteps (B,) of any numeric type → (B, num_channels) float32. */
  public NDArray forward(NDArray timesteps) {
    int half = numChannels / 2;
    long b = timesteps.getShape().get(0);
    NDArray t = timesteps.toType(DataType.FLOAT32, false).reshape(b, 1); // (B, 1)
    NDArray exponent =
        t.getManager()
            .arange(0f, (float) half)
            .mul((float) -Math.log(10000.0))
            .div((float) (half - downscaleFreqShift));
    NDArray emb = t.mul(exponent.exp().reshape(1, half)); // (B, half)
    NDArray sin = emb.sin();
    NDArray cos = emb.cos();
    NDArray out = flipSinToCos ? cos.concat(sin, -1) : sin.concat(cos, -1);
    if (numChannels % 2 == 1) {
      out = out.concat(t.getManager().zeros(new Shape(b, 1)), -1);
    }
    return out;
  }

  public int numChannels() {
    return numChannels;
  }
}

package dev.perase.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.perase.io.BadInputException;
import dev.perase.tensor.Torch;

/**
 * The DDPM noise schedule of diffusers' {@code DDPMScheduler}: betas, {@code alphas_cumprod} ᾱ_t =
 * ∏_{s≤t} (1 − β_s), and the forward process {@code addNoise}: x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε (DDPM
 * paper, Eq. 4). The betas are computed by torch itself (linspace, pow, cumprod), so they equal
 * diffusers' float32 values bit for bit.
 */
public final class DdpmSchedule {
  private final int numTrainTimesteps;
  private final float[] betas;
  private final float[] alphas;
  private final float[] alphasCumprod;

  /**
   * @param betaSchedule {@code linear}, {@code scaled_linear} (SD: linspace of √β, squared) or
   *     {@code squaredcos_cap_v2}
   */
  public DdpmSchedule(int numTrainTimesteps, float betaStart, float betaEnd, String betaSchedule) {
    if (numTrainTimesteps < 2) {
      throw new BadInputException(
          "num_train_timesteps must be at least 2, got " + numTrainTimesteps);
    }
    this.numTrainTimesteps = numTrainTimesteps;
    try (NDManager m = Torch.newManager()) {
      NDArray b =
          switch (betaSchedule) {
            case "linear" -> m.linspace(betaStart, betaEnd, numTrainTimesteps);
            case "scaled_linear" ->
                m.linspace(
                        (float) Math.sqrt(betaStart), (float) Math.sqrt(betaEnd), numTrainTimesteps)
                    .pow(2);
            case "squaredcos_cap_v2" -> m.create(cosineBetas(numTrainTimesteps));
            default ->
                throw new BadInputException(
                    "unknown beta_schedule '"
                        + betaSchedule
                        + "' (supported: linear, scaled_linear, squaredcos_cap_v2)");
          };
      NDArray a = b.neg().add(1f);
      this.betas = b.toFloatArray();
      this.alphas = a.toFloatArray();
      this.alphasCumprod = a.cumProd(0, DataType.FLOAT32).toFloatArray();
    }
  }

  /** The schedule of Stable Diffusion v1.x: scaled_linear from 0.00085 to 0.012 over 1000 steps. */
  public static DdpmSchedule stableDiffusion() {
    return new DdpmSchedule(1000, 0.00085f, 0.012f, "scaled_linear");
  }

  /** Glide's cosine schedule (β_max 0.999), computed in double as diffusers does, then float32. */
  private static float[] cosineBetas(int n) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      double t1 = (double) i / n;
      double t2 = (double) (i + 1) / n;
      out[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
    }
    return out;
  }

  private static double alphaBar(double t) {
    double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
    return c * c;
  }

  public int numTrainTimesteps() {
    return numTrainTimesteps;
  }

  public float[] betas() {
    return betas.clone();
  }

  public float[] alphas() {
    return alphas.clone();
  }

  public float[] alphasCumprod() {
    return alphasCumprod.clone();
  }

  /** ᾱ_t. */
  public float alphaCumprod(int t) {
    return alphasCumprod[t];
  }

  /**
   * x_t = √ᾱ_t · x₀ + √(1 − ᾱ_t) · ε with one timestep per batch element; result in {@code
   * original}'s manager.
   */
  public NDArray addNoise(NDArray original, NDArray noise, int[] timesteps) {
    long batch = original.getShape().get(0);
    if (timesteps.length != batch && timesteps.length != 1) {
      throw new IllegalArgumentException(timesteps.length + " timesteps for a batch of " + batch);
    }
    float[] sa = new float[(int) batch];
    float[] sb = new float[(int) batch];
    for (int i = 0; i < batch; i++) {
      float ac = alphasCumprod[timesteps[timesteps.length == 1 ? 0 : i]];
      sa[i] = (float) Math.sqrt(ac);
      sb[i] = (float) Math.sqrt(1f - ac);
    }
    long[] bshape = new long[original.getShape().dimension()];
    java.util.Arrays.fill(bshape, 1);
    bshape[0] = batch;
    NDManager m = original.getManager();
    NDArray a = m.create(sa).reshape(bshape);
    NDArray b = m.create(sb).reshape(bshape);
    return original.mul(a).add(noise.mul(b));
  }
}

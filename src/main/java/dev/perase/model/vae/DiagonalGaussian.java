package dev.perase.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * The encoder's posterior q(z | x) = N(mean, exp(logvar)), diffusers' {@code
 * DiagonalGaussianDistribution}: the moments (B, 2·latent, h, w) split along channels into mean and
 * logvar, logvar clamped to [−30, 20]. Both are (B, latent, h, w), before the scaling factor.
 */
public record DiagonalGaussian(NDArray mean, NDArray logvar) {
  /**
   * z = mean + exp(logvar / 2) · ε with ε ~ N(0, I) drawn from torch's global generator (seed it
   * with {@code Torch.seed}), as diffusers' {@code sample()} with no generator; ε and z live in
   * {@code manager}.
   */
  public NDArray sample(NDManager manager) {
    NDArray eps = manager.randomNormal(mean.getShape());
    NDArray halfLogvar = logvar.mul(0.5f);
    NDArray std = halfLogvar.exp();
    NDArray scaled = eps.mul(std);
    NDArray z = scaled.add(mean);
    for (NDArray t : new NDArray[] {eps, halfLogvar, std, scaled}) {
      t.close();
    }
    return z;
  }

  /** The mode, which for a Gaussian is the mean. */
  public NDArray mode() {
    return mean;
  }
}

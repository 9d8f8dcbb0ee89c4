package dev.perase.world;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.scheduler.DdpmSchedule;
import java.util.SplittableRandom;

/**
 * How the world model's training draws its timesteps.
 *
 * <p>{@link #UNIFORM} is DDPM's: every t in [0, T) alike. With the world's linear betas on 32×32
 * pixels more than half of those t (σ_t = √((1−ᾱ_t)/ᾱ_t) above 3, t ≳ 450) leave nothing of the
 * image: their loss is the spread of the images a prompt allows, which no model can remove and
 * which dominates the gradient, while the outlines and textures are decided at t ≲ 400.
 *
 * <p>{@link #EDM} draws, for four in five samples, ln σ from N(−1.2, 1.2²) (the noise levels of
 * Karras et al. 2022, "Elucidating the design space of diffusion-based generative models", whose
 * σ_data = 0.5 matches images in [−1, 1]) and takes the timestep whose σ_t is nearest; the fifth
 * sample stays uniform, so the high-noise steps where the prompt alone sets colour and layout keep
 * being trained.
 */
public enum TimestepSampling {
  @JsonProperty("uniform")
  UNIFORM,
  @JsonProperty("edm")
  EDM;

  /** Mean and spread of ln σ (EDM's P_mean, P_std). */
  static final double LOG_SIGMA_MEAN = -1.2;

  static final double LOG_SIGMA_STD = 1.2;

  /** Share of samples that stay uniform under {@link #EDM}. */
  static final double UNIFORM_SHARE = 0.2;

  /** A sampler bound to a schedule (σ_t precomputed). */
  public Sampler sampler(DdpmSchedule schedule) {
    return new Sampler(this, schedule);
  }

  /** Draws timesteps for one schedule. */
  public static final class Sampler {
    private final TimestepSampling kind;
    private final double[] logSigma;

    private Sampler(TimestepSampling kind, DdpmSchedule schedule) {
      this.kind = kind;
      float[] ac = schedule.alphasCumprod();
      logSigma = new double[ac.length];
      for (int t = 0; t < ac.length; t++) {
        logSigma[t] = 0.5 * Math.log((1.0 - ac[t]) / ac[t]);
      }
    }

    /** One timestep in [0, T). */
    public int sample(SplittableRandom rng) {
      int n = logSigma.length;
      if (kind == UNIFORM || rng.nextDouble() < UNIFORM_SHARE) {
        return rng.nextInt(n);
      }
      return nearest(LOG_SIGMA_MEAN + LOG_SIGMA_STD * rng.nextGaussian());
    }

    /** The timestep whose ln σ_t is nearest (σ_t rises with t). */
    int nearest(double target) {
      int lo = 0;
      int hi = logSigma.length - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (logSigma[mid] < target) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      if (lo > 0 && target - logSigma[lo - 1] < logSigma[lo] - target) {
        return lo - 1;
      }
      return lo;
    }
  }
}

package dev.perase.attack;

import java.util.SplittableRandom;

/** Seeds derived from a prompt's seed, one stream per use, so that every attack run repeats. */
final class Seeds {
  static final int NOISE = 1;
  static final int SAMPLE = 2;

  private Seeds() {}

  /** A seed for (stream, attempt, iteration) of a prompt: SplitMix64 over the mixed parts. */
  static long derive(long seed, int stream, int attempt, int iteration) {
    long x = seed;
    x = x * 0x9E3779B97F4A7C15L + stream;
    x = x * 0x9E3779B97F4A7C15L + attempt;
    x = x * 0x9E3779B97F4A7C15L + iteration;
    return new SplittableRandom(x).nextLong();
  }
}

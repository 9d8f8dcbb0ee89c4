package dev.perase.tensor;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/** Engine start-up: the PyTorch engine of DJL, loaded from the native jar on the classpath. */
public final class Torch {
  private Torch() {}

  /** The PyTorch engine (starts it on first use). */
  public static Engine engine() {
    return Engine.getEngine("PyTorch");
  }

  /** A new base manager on the PyTorch engine's default device. */
  public static NDManager newManager() {
    return engine().newBaseManager();
  }

  /**
   * Seeds torch's global generator: a following {@code randn} draws the same numbers as Python's
   * {@code torch.manual_seed(seed); torch.randn(...)} and {@code
   * torch.Generator().manual_seed(seed)}.
   */
  public static void seed(long seed) {
    engine().setRandomSeed((int) seed);
  }
}

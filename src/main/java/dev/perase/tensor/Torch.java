package dev.perase.tensor;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;

/** Engine start-up: the PyTorch engine of DJL, loaded from the native jar on the classpath. */
public final class Torch {
  private Torch() {}

  /**
   * Sets libtorch's thread counts unless the JVM was given them ({@code
   * -Dai.djl.pytorch.num_threads}, {@code -Dai.djl.pytorch.num_interop_threads}): one core fewer
   * than the machine has for the intra-op pool (at least one), one inter-op thread. With every core
   * in the pool, libtorch's OpenMP threads spin-wait and lose their core to the JVM's own threads:
   * on this project's 2-core machine, one thread ran the quick demo and a UNet step faster and
   * steadier than two, and two with OpenMP's passive wait were slowest (README, Speed). Call it
   * before the engine starts.
   */
  public static void useDefaultThreads() {
    if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
      int cores = Runtime.getRuntime().availableProcessors();
      System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(Math.max(1, cores - 1)));
    }
    if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
      System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
  }

  private static volatile boolean started;

  /**
   * The PyTorch engine (starts it on first use, then turns NNPACK off where it cannot start: {@link
   * Nnpack}).
   */
  public static Engine engine() {
    Engine e = Engine.getEngine("PyTorch");
    if (!started) {
      synchronized (Torch.class) {
        if (!started) {
          Nnpack.disableIfUnavailable();
          started = true;
        }
      }
    }
    return e;
  }

  private static volatile Device device;

  /**
   * Chooses the device of every manager made after this call, or null for the engine's default (the
   * GPU when one is present).
   */
  public static void useDevice(Device d) {
    device = d;
  }

  /** GPUs libtorch sees (0 on a CPU build). */
  public static int gpuCount() {
    return engine().getGpuCount();
  }

  /** The device managers are made on. */
  public static Device device() {
    Device d = device;
    return d != null ? d : engine().defaultDevice();
  }

  /** A new base manager on the chosen device ({@link #useDevice}), by default the engine's. */
  public static NDManager newManager() {
    Device d = device;
    return d != null ? engine().newBaseManager(d) : engine().newBaseManager();
  }

  /**
   * Seeds torch's global generators as Python's {@code torch.manual_seed(seed)} does: a following
   * {@code randn} draws the same numbers as {@code torch.manual_seed(seed); torch.randn(...)} and
   * {@code torch.Generator().manual_seed(seed)}. The whole 64 bits reach torch (a negative long is
   * the seed 2^64 + seed, as torch's {@code uint64_t} reads it), so seeds past {@code int} such as
   * I2P's 4,290,749,014 are torch's seed exactly. CPU's Mersenne Twister uses only the low 32 bits
   * ({@code mt19937(seed & 0xffffffff)}); CUDA's Philox generator and {@code initial_seed()} use
   * them all.
   */
  public static void seed(long seed) {
    // DJL's setRandomSeed takes an int: it seeds DJL's own Java generator (kept as before) and
    // torch with the sign-extended int, which the full seed then replaces.
    engine().setRandomSeed((int) seed);
    JniUtils.setSeed(seed);
  }
}

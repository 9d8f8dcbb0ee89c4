package dev.perase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.nio.file.Path;

/** Where the shared reference fixtures live, and the tolerances of DESIGN.md §3 (in one place). */
public final class Fixtures {
  private Fixtures() {}

  /** Single model calls (text encoder, UNet, VAE): max absolute difference. */
  public static final double MODEL_CALL_ABS = 1e-5;

  /** The 50-step DDIM trajectory: max absolute difference relative to max |latent|. */
  public static final double TRAJECTORY_REL = 1e-4;

  /**
   * An image drawn in a batch against the same image drawn alone (issue 16): max absolute
   * difference relative to max |latent| (or |image|).
   */
  public static final double BATCH_REL = 1e-5;

  /** Fréchet distance, full and rank-deficient sets: relative to the pytorch-fid golden value. */
  public static final double FRECHET_REL = 1e-5;

  /** Fréchet distance when sqrtm of the covariance product fails (the ε-offset path): relative. */
  public static final double FRECHET_SINGULAR_REL = 1e-4;

  public static Path root() {
    return Path.of(System.getProperty("perase.fixtures", "../shared/fixtures"));
  }

  public static Path tinySd() {
    return root().resolve("tiny-sd");
  }

  /** The built-in world's committed model (text-to-image model, detector, prompt sets). */
  public static Path world() {
    return Path.of("models", "world");
  }

  /** The detector fixtures (NudeNet, Hugging Face classifiers, clean-fid's Inception). */
  public static Path detectors() {
    return root().resolve("detectors");
  }

  public static Path reference(String file) {
    return tinySd().resolve("reference").resolve(file);
  }

  /** Max |a − b| over all elements. */
  public static double maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }

  public static double maxAbs(NDArray a) {
    return a.abs().max().getFloat();
  }

  /** Asserts same shape and max |actual − expected| ≤ tol, reporting the difference. */
  public static void assertClose(NDArray expected, NDArray actual, double tol, String what) {
    assertArrayEquals(
        expected.getShape().getShape(), actual.getShape().getShape(), what + ": shape");
    double d = maxAbsDiff(expected, actual);
    assertTrue(d <= tol, what + ": max abs diff " + d + " > " + tol);
  }

  /**
   * A copy of the diffusers folder {@code from} in {@code to} with every weight rounded to F16
   * (Java's rounding, which equals torch's: the fixture file's SHA-256 shows it).
   */
  public static Path halfFolder(Path from, Path to) {
    try {
      try (var walk = java.nio.file.Files.walk(from)) {
        for (Path p : walk.filter(java.nio.file.Files::isRegularFile).toList()) {
          Path rel = from.relativize(p);
          if (rel.startsWith("reference") || rel.startsWith("single-file")) {
            continue;
          }
          Path target = to.resolve(rel.toString());
          java.nio.file.Files.createDirectories(target.getParent());
          if (!p.toString().endsWith(".safetensors")) {
            java.nio.file.Files.copy(p, target);
            continue;
          }
          dev.perase.io.SafeTensorsWriter w =
              new dev.perase.io.SafeTensorsWriter().metadata(java.util.Map.of("format", "pt"));
          try (dev.perase.io.SafeTensors st = dev.perase.io.SafeTensors.open(p)) {
            for (String k : st.keys()) {
              float[] f = st.floats(k);
              java.nio.ByteBuffer b =
                  java.nio.ByteBuffer.allocate(2 * f.length)
                      .order(java.nio.ByteOrder.LITTLE_ENDIAN);
              for (float v : f) {
                b.putShort(dev.perase.io.Half.fromFloat(v));
              }
              w.putRaw(k, dev.perase.io.DType.F16, st.info(k).shape(), b.array());
            }
          }
          w.write(target);
        }
      }
      return to;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}

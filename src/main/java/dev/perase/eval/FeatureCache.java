package dev.perase.eval;

import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.io.Hashes;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.TensorInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The Inception features of an image folder, kept in a safetensors file so that a second FID
 * against the same reference folder does not run Inception again.
 *
 * <p><b>Where.</b> Beside the images, {@code DIR/.perase-fid-features.safetensors}; when that
 * cannot be written (a read-only folder or mount), in the fallback folder under the SHA-256 of the
 * folder's absolute path: {@code ROOT/<sha256>.safetensors}, ROOT being {@code
 * $XDG_CACHE_HOME/perase/fid-features} or {@code ~/.cache/perase/fid-features} unless given. A read
 * looks in both places, beside first.
 *
 * <p><b>Key.</b> The SHA-256 of: a format line, the Inception fingerprint (SHA-256 of its {@code
 * .pt}), the resize ({@code clean 299}), and each image's file name and SHA-256 of its bytes, in
 * name order. Content hashes rather than size and modification time: copying or touching a
 * reference set keeps its cache valid, and an image rewritten within the same second at the same
 * size does not slip through. Hashing reads every file once per run (about a second per GB), far
 * less than Inception takes on them. A cache with another key, another shape or that does not parse
 * is ignored and written anew.
 *
 * <p>Writes go through {@link SafeTensorsWriter} (a temporary file renamed into place), so a crash
 * never leaves a half-written cache. The features are stored as float32, as the model returns them:
 * a reused set is bit for bit the computed one.
 */
public final class FeatureCache {
  /** The cache file's name beside the images. */
  public static final String FILE = ".perase-fid-features.safetensors";

  /** First line of the key text; a change of what the features mean changes it. */
  static final String FORMAT = "perase fid-features 1";

  private static final String TENSOR = "features";
  private static final String KEY = "key";

  private final Path fallbackRoot;

  /**
   * @param fallbackRoot where caches of folders that cannot be written to go ({@link
   *     #defaultRoot()} unless the caller chooses)
   */
  public FeatureCache(Path fallbackRoot) {
    this.fallbackRoot = fallbackRoot;
  }

  /** {@code $XDG_CACHE_HOME/perase/fid-features}, else {@code ~/.cache/perase/fid-features}. */
  public static Path defaultRoot() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("perase").resolve("fid-features");
  }

  /** The cache file beside the images of {@code dir}. */
  public static Path beside(Path dir) {
    return dir.resolve(FILE);
  }

  /** The cache file of {@code dir} in the fallback folder. */
  public Path fallback(Path dir) {
    String id = Hashes.sha256(dir.toAbsolutePath().normalize().toString());
    return fallbackRoot.resolve(id + ".safetensors");
  }

  /**
   * The key of a folder's features: SHA-256 over the format, the Inception fingerprint, the resize
   * and every image's name and content hash, in the given (name) order.
   */
  public static String key(List<Path> images, String inceptionFingerprint) {
    return key(
        images.stream().map(p -> p.getFileName().toString()).toList(),
        images.stream().map(Hashes::sha256File).toList(),
        inceptionFingerprint);
  }

  /**
   * As {@link #key(List, String)}, of images known by their file names and the SHA-256 of their
   * bytes (a sharded extraction's record of them).
   */
  public static String key(List<String> names, List<String> sha256, String inceptionFingerprint) {
    MessageDigest sha = Hashes.digest();
    StringBuilder head = new StringBuilder();
    head.append(FORMAT).append('\n');
    head.append("inception ").append(inceptionFingerprint).append('\n');
    head.append("resize clean ").append(CleanResize.SIZE).append('\n');
    sha.update(head.toString().getBytes(StandardCharsets.UTF_8));
    for (int i = 0; i < names.size(); i++) {
      String line = names.get(i) + "\t" + sha256.get(i) + "\n";
      sha.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Cached features found for a key: the values and the file they came from. */
  public record Hit(float[][] features, Path file) {}

  /**
   * The cached features of {@code dir} under {@code key} with {@code count} rows, or null when
   * neither place holds them.
   */
  public Hit read(Path dir, String key, int count) {
    for (Path file : List.of(beside(dir), fallback(dir))) {
      float[][] f = readIfValid(file, key, count);
      if (f != null) {
        return new Hit(f, file);
      }
    }
    return null;
  }

  private static float[][] readIfValid(Path file, String key, int count) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      if (!key.equals(st.metadata().get(KEY)) || !st.has(TENSOR)) {
        return null;
      }
      TensorInfo t = st.info(TENSOR);
      long[] shape = t.shape();
      if (shape.length != 2 || shape[0] != count || shape[1] != InceptionFeatures.DIM) {
        return null;
      }
      float[] flat = st.floats(TENSOR);
      int d = InceptionFeatures.DIM;
      float[][] out = new float[count][d];
      for (int i = 0; i < count; i++) {
        System.arraycopy(flat, i * d, out[i], 0, d);
      }
      return out;
    } catch (BadInputException e) {
      return null; // not a cache we can read: computed again and overwritten
    }
  }

  /**
   * Writes the features of {@code dir} under {@code key}: beside the images, or in the fallback
   * folder when that fails. Returns the file written.
   *
   * @throws FileAccessException when neither place can be written
   */
  public Path write(Path dir, String key, float[][] features, Map<String, String> metadata) {
    int n = features.length;
    int d = InceptionFeatures.DIM;
    float[] flat = new float[n * d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(features[i], 0, flat, i * d, d);
    }
    SafeTensorsWriter w =
        new SafeTensorsWriter()
            .metadata(metadata)
            .metadata(KEY, key)
            .putFloats(TENSOR, new long[] {n, d}, flat);
    Path first = beside(dir);
    try {
      w.write(first);
      return first;
    } catch (FileAccessException besideFailed) {
      Path second = fallback(dir);
      try {
        w.write(second);
      } catch (FileAccessException e) {
        e.addSuppressed(besideFailed);
        throw e;
      }
      return second;
    }
  }
}

package dev.perase.eval;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * FID and KID between two image folders as clean-fid computes them in mode {@code "clean"} ({@code
 * cleanfid.fid.compute_fid(dir1, dir2, mode="clean")} and {@code compute_kid}): every image through
 * {@link CleanResize} and {@link InceptionFeatures}, then {@link FrechetDistance} on the two
 * feature sets ({@code fid_from_feats}) and, when asked, {@link KernelDistance} ({@code
 * kernel_distance}). A folder's features are cached beside it ({@link FeatureCache}), so a second
 * comparison with the same reference folder runs Inception on the new images only.
 *
 * <p>Folders: the PNG and JPEG files directly in the folder, in name order ({@link
 * ImageFolderDetection#imageFiles}); other files are ignored, as clean-fid ignores files without an
 * image extension. clean-fid also descends into subfolders and reads BMP, PGM, PPM, TIFF and WebP;
 * this class does not. PNGs decode to the same bytes as in Pillow; a JPEG decoder may differ from
 * Pillow's libjpeg-turbo by a level here and there.
 */
public final class CleanFid {
  private CleanFid() {}

  /**
   * A folder's features.
   *
   * @param files the images, in name order (the rows of {@code features})
   * @param key the cache key ({@link FeatureCache#key})
   * @param cache the cache file they came from or went to; null while not yet saved
   * @param reused whether they came from the cache (Inception did not run)
   */
  public record FolderFeatures(
      Path dir, List<Path> files, float[][] features, String key, Path cache, boolean reused) {}

  /**
   * The features of the images of {@code dir}: from the cache when it holds them under the folder's
   * key, else computed (and not yet saved: {@link #save}).
   *
   * @param progress told 0 when Inception starts, then the number of images done after each batch
   *     (never told anything when the cache holds the features)
   * @throws BadInputException for a missing folder, one without images, or a file that is no image
   */
  public static FolderFeatures folder(
      Path dir,
      InceptionFeatures inception,
      FeatureCache cache,
      NDManager manager,
      IntConsumer progress) {
    List<Path> files = ImageFolderDetection.imageFiles(dir);
    String key = FeatureCache.key(files, inception.fingerprint());
    FeatureCache.Hit hit = cache.read(dir, key, files.size());
    if (hit != null) {
      return new FolderFeatures(dir, files, hit.features(), key, hit.file(), true);
    }
    progress.accept(0);
    float[][] f = inception.of(files.size(), i -> Png.read(files.get(i)), manager, progress);
    return new FolderFeatures(dir, files, f, key, null, false);
  }

  /** Writes computed features to the cache (reused ones are there already); returns them saved. */
  public static FolderFeatures save(FolderFeatures f, FeatureCache cache, String fingerprint) {
    if (f.reused() || f.cache() != null) {
      return f;
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", FeatureCache.FORMAT);
    meta.put("inception_sha256", fingerprint);
    meta.put("images", Integer.toString(f.files().size()));
    meta.put("folder", f.dir().toAbsolutePath().normalize().toString());
    Path file = cache.write(f.dir(), f.key(), f.features(), meta);
    return new FolderFeatures(f.dir(), f.files(), f.features(), f.key(), file, false);
  }

  /** FID of two feature sets ({@code fid_from_feats}), in float64. */
  public static FrechetDistance.Result fid(float[][] features1, float[][] features2) {
    return FrechetDistance.of(toDouble(features1), toDouble(features2));
  }

  /** KID of two feature sets ({@code kernel_distance}) with clean-fid's sampling. */
  public static KernelDistance.Result kid(
      float[][] features1, float[][] features2, NDManager manager) {
    return KernelDistance.of(features1, features2, manager);
  }

  /** Opens a progress display for a folder whose features are computed. */
  @FunctionalInterface
  public interface Listener {
    /**
     * Inception is about to run on {@code images} images of the folder playing {@code role} ({@code
     * images} or {@code reference}); returns what to tell the count done.
     */
    IntConsumer computing(String role, int images);
  }

  /** One folder in the result. */
  public record FolderRecord(
      @JsonProperty("dir") String dir,
      @JsonProperty("images") int images,
      @JsonProperty("cache") String cache,
      @JsonProperty("reused") boolean reused) {
    static FolderRecord of(FolderFeatures f) {
      return new FolderRecord(
          f.dir().toString(), f.files().size(), String.valueOf(f.cache()), f.reused());
    }
  }

  /** The terms of the FID (clean-fid's {@code frechet_distance}). */
  public record FidTerms(
      @JsonProperty("mean_term") double meanTerm,
      @JsonProperty("trace_sigma1") double traceSigma1,
      @JsonProperty("trace_sigma2") double traceSigma2,
      @JsonProperty("trace_sqrt") double traceSqrt,
      @JsonProperty("eps_offset_used") boolean offsetUsed) {
    static FidTerms of(FrechetDistance.Result r) {
      return new FidTerms(
          r.meanTerm(), r.traceSigma1(), r.traceSigma2(), r.traceCovmean(), r.offsetUsed());
    }
  }

  /** What {@code perase fid} reports. Set 1 of the distances is the images, set 2 the reference. */
  public record Result(
      @JsonProperty("fid") double fid,
      @JsonProperty("fid_terms") FidTerms fidTerms,
      @JsonProperty("kid") @JsonInclude(JsonInclude.Include.NON_NULL) KernelDistance.Result kid,
      @JsonProperty("mode") String mode,
      @JsonProperty("images") FolderRecord images,
      @JsonProperty("reference") FolderRecord reference,
      @JsonProperty("inception") String inception,
      @JsonProperty("inception_sha256") String inceptionSha256,
      @JsonProperty("batch") int batch) {}

  /**
   * {@code perase fid}: the features of both folders (each from its cache or computed), then the
   * caches of computed ones written, then FID (and KID). Nothing is written until both folders have
   * their features, so bad input in either leaves no file behind.
   *
   * @param manager the device Inception runs on and where temporary arrays are made
   * @throws BadInputException for a missing or empty folder, a file that is no image, or an
   *     Inception file libtorch cannot load or run
   */
  public static Result run(FidSettings s, NDManager manager, Listener listener) {
    // list both folders first: a missing or empty one fails before Inception loads
    List<Integer> counts = new ArrayList<>();
    for (Path dir : List.of(s.images(), s.reference())) {
      counts.add(ImageFolderDetection.imageFiles(dir).size());
    }
    FeatureCache cache = new FeatureCache(s.cacheRoot());
    try (InceptionFeatures inception = InceptionFeatures.load(s.inception(), manager, s.batch())) {
      FolderFeatures a =
          folder(s.images(), inception, cache, manager, lazy(listener, "images", counts.get(0)));
      FolderFeatures b =
          folder(
              s.reference(), inception, cache, manager, lazy(listener, "reference", counts.get(1)));
      a = save(a, cache, inception.fingerprint());
      b = save(b, cache, inception.fingerprint());
      FrechetDistance.Result fid = fid(a.features(), b.features());
      KernelDistance.Result kid =
          s.kid() ? KernelDistance.of(a.features(), b.features(), s.kidSampling(), manager) : null;
      return new Result(
          fid.distance(),
          FidTerms.of(fid),
          kid,
          "clean",
          FolderRecord.of(a),
          FolderRecord.of(b),
          s.inception().toString(),
          inception.fingerprint(),
          s.batch());
    }
  }

  /** Opens the listener's display when Inception starts: a cached folder opens none. */
  private static IntConsumer lazy(Listener listener, String role, int images) {
    IntConsumer[] open = new IntConsumer[1];
    return done -> {
      if (open[0] == null) {
        open[0] = listener.computing(role, images);
      }
      open[0].accept(done);
    };
  }

  private static double[][] toDouble(float[][] f) {
    double[][] out = new double[f.length][];
    for (int i = 0; i < f.length; i++) {
      out[i] = new double[f[i].length];
      for (int j = 0; j < f[i].length; j++) {
        out[i][j] = f[i][j];
      }
    }
    return out;
  }
}

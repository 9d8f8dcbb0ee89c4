package dev.perase.eval;

import dev.perase.io.BadInputException;
import java.nio.file.Path;

/**
 * What {@code perase fid} compares and how ({@link CleanFid#run}).
 *
 * @param images the folder of images to judge (generated images)
 * @param reference the folder of reference images (real images)
 * @param inception clean-fid's {@code inception-2015-12-05.pt}
 * @param kid whether to compute KID as well, sampled as {@code kidSampling} says
 * @param batch images per Inception call
 * @param cacheRoot where feature caches go for folders that cannot be written to ({@link
 *     FeatureCache})
 */
public record FidSettings(
    Path images,
    Path reference,
    Path inception,
    boolean kid,
    KernelDistance.Settings kidSampling,
    int batch,
    Path cacheRoot) {
  public FidSettings {
    if (batch < 1) {
      throw new BadInputException("--batch must be at least 1, not " + batch);
    }
    if (kidSampling == null) {
      kidSampling = KernelDistance.Settings.CLEAN_FID;
    }
    if (cacheRoot == null) {
      cacheRoot = FeatureCache.defaultRoot();
    }
  }
}

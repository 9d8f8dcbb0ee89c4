package dev.perase.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FID and KID as clean-fid computes them, on the detector fixture (7 + 7 images, 2048 features),
 * and the folder feature cache. The fixture folders are copied first: a cache is written beside the
 * images, and the shared fixtures stay as they are.
 */
class CleanFidTest {
  @TempDir Path tmp;

  /** A copy of a fixture image folder ({@code images} or {@code images-b}). */
  static Path copy(String name, Path into) throws IOException {
    Path dir = Files.createDirectories(into.resolve(name));
    for (Path p : ImageFolderDetection.imageFiles(Fixtures.detectors().resolve(name))) {
      Files.copy(p, dir.resolve(p.getFileName()));
    }
    return dir;
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

  /**
   * FID relative to the README's exact route (the 7 × 7 eigenproblem of the centred features).
   * Reached: 1.9e-13; to clean-fid's scipy value ({@link Fixtures#FRECHET_REL}): 2.0e-6.
   */
  static final double FID_EXACT_REL = 1e-10;

  @Test
  void fidOfTheGoldenFeaturesIsTheExactRouteWithoutOffset() {
    JsonNode golden =
        ClassifierFixture.goldenJson(InceptionFeaturesTest.DIR.resolve("golden.json"));
    FrechetDistance.Result r =
        FrechetDistance.of(
            toDouble(KernelDistanceTest.goldenFeatures("a")),
            toDouble(KernelDistanceTest.goldenFeatures("b")));
    assertFalse(r.offsetUsed(), "clean-fid's sqrtm does not fail here: no ε offset");
    double exact = golden.get("fid_eigen_route").asDouble();
    assertEquals(exact, r.distance(), FID_EXACT_REL * exact, "the exact route");
    double scipy = golden.get("fid").asDouble();
    assertEquals(scipy, r.distance(), Fixtures.FRECHET_REL * scipy, "clean-fid's value");
    JsonNode terms = golden.get("fid_terms");
    assertEquals(terms.get("mean_term").asDouble(), r.meanTerm(), 1e-12 * r.meanTerm());
    assertEquals(terms.get("trace1").asDouble(), r.traceSigma1(), 1e-12 * r.traceSigma1());
    assertEquals(terms.get("trace2").asDouble(), r.traceSigma2(), 1e-12 * r.traceSigma2());
    assertEquals(
        terms.get("trace_sqrt").asDouble(), r.traceCovmean(), FID_EXACT_REL * r.traceCovmean());
  }

  @Test
  void fidAndKidOfTheFixtureFoldersMatchCleanFid() throws IOException {
    JsonNode golden =
        ClassifierFixture.goldenJson(InceptionFeaturesTest.DIR.resolve("golden.json"));
    FidSettings s =
        new FidSettings(
            copy("images", tmp),
            copy("images-b", tmp),
            InceptionFeaturesTest.MODEL,
            true,
            KernelDistance.Settings.CLEAN_FID,
            32,
            tmp.resolve("cache-root"));
    CleanFid.Result r;
    try (NDManager m = Torch.newManager()) {
      r = CleanFid.run(s, m, (role, n) -> done -> {});
    }
    // forward(img, True) features: the README's FID of them by the exact route, and clean-fid's
    double forward = golden.get("fid_forward_features_eigen_route").asDouble();
    assertEquals(forward, r.fid(), FID_FORWARD_REL * forward, "FID of forward's features");
    double scipy = golden.get("fid").asDouble();
    assertEquals(scipy, r.fid(), Fixtures.FRECHET_REL * scipy, "clean-fid's FID");
    double kid = golden.get("kid").asDouble();
    assertEquals(kid, r.kid().kid(), KID_FOLDERS_REL * kid, "clean-fid's KID");
    assertEquals(7, r.images().images());
    assertEquals(7, r.reference().images());
    assertFalse(r.fidTerms().offsetUsed());
  }

  /**
   * FID of the Java pipeline's features relative to the README's exact-route FID of torch's {@code
   * forward(img, True)} features. Reached: 4.4e-9 (the features differ by up to 9.5e-7 from torch
   * 1.13's).
   */
  static final double FID_FORWARD_REL = 1e-7;

  /** KID of the Java pipeline's features relative to clean-fid's. Reached: 1.2e-6. */
  static final double KID_FOLDERS_REL = 1e-5;

  @Test
  void aSecondRunReusesTheCacheBesideTheFolderWithoutCallingInception() throws IOException {
    Path dir = copy("images", tmp);
    FeatureCache cache = new FeatureCache(tmp.resolve("cache-root"));
    CleanFid.FolderFeatures first;
    CleanFid.FolderFeatures second;
    try (NDManager m = Torch.newManager()) {
      try (InceptionFeatures inception =
          InceptionFeatures.load(InceptionFeaturesTest.MODEL, m, 4)) {
        List<Integer> progress = new ArrayList<>();
        first = CleanFid.folder(dir, inception, cache, m, progress::add);
        assertEquals(List.of(0, 4, 7), progress);
        assertEquals(2, inception.calls());
        assertFalse(first.reused());
        assertNull(first.cache(), "not written before save");
        assertFalse(Files.exists(dir.resolve(FeatureCache.FILE)));
        first = CleanFid.save(first, cache, inception.fingerprint());
        assertEquals(dir.resolve(FeatureCache.FILE), first.cache());
      }
      try (InceptionFeatures inception =
          InceptionFeatures.load(InceptionFeaturesTest.MODEL, m, 4)) {
        second = CleanFid.folder(dir, inception, cache, m, done -> fail("no progress"));
        assertEquals(0, inception.calls(), "Inception is not called again");
      }
    }
    assertTrue(second.reused());
    assertEquals(dir.resolve(FeatureCache.FILE), second.cache());
    assertEquals(first.key(), second.key());
    for (int i = 0; i < 7; i++) {
      assertArrayEquals(first.features()[i], second.features()[i], "bit for bit, image " + i);
    }
    assertFalse(Files.exists(tmp.resolve("cache-root")), "nothing in the fallback folder");
  }

  @Test
  void anotherImageOrAnotherInceptionChangesTheKey() throws IOException {
    Path dir = copy("images", tmp);
    List<Path> files = ImageFolderDetection.imageFiles(dir);
    String key = FeatureCache.key(files, "inception-a");
    assertEquals(key, FeatureCache.key(files, "inception-a"));
    assertNotEquals(key, FeatureCache.key(files, "inception-b"));
    Files.copy(files.get(1), files.get(0), StandardCopyOption.REPLACE_EXISTING);
    assertNotEquals(key, FeatureCache.key(files, "inception-a"), "same names, other bytes");
    FeatureCache cache = new FeatureCache(tmp.resolve("cache-root"));
    float[][] f = new float[7][InceptionFeatures.DIM];
    cache.write(dir, key, f, Map.of());
    assertNull(cache.read(dir, FeatureCache.key(files, "inception-a"), 7), "stale key");
    assertNotNull(cache.read(dir, key, 7));
    assertNull(cache.read(dir, key, 6), "another image count");
  }

  @Test
  void aFolderThatCannotTakeTheCacheFileUsesTheFallbackFolder() throws IOException {
    Path dir = copy("images", tmp);
    // the cache's name is taken by a non-empty folder: the rename into place fails
    Path blocker = Files.createDirectories(dir.resolve(FeatureCache.FILE));
    Files.writeString(blocker.resolve("keep"), "x");
    FeatureCache cache = new FeatureCache(tmp.resolve("cache-root"));
    float[][] f = new float[7][InceptionFeatures.DIM];
    f[3][5] = 1.5f;
    Path written = cache.write(dir, "k", f, Map.of());
    assertEquals(cache.fallback(dir), written);
    assertTrue(written.startsWith(tmp.resolve("cache-root")));
    FeatureCache.Hit hit = cache.read(dir, "k", 7);
    assertEquals(written, hit.file());
    assertEquals(1.5f, hit.features()[3][5]);
  }

  @Test
  void aCorruptCacheIsComputedAgain() throws IOException {
    Path dir = copy("images-b", tmp);
    Files.writeString(dir.resolve(FeatureCache.FILE), "not safetensors");
    FeatureCache cache = new FeatureCache(tmp.resolve("cache-root"));
    assertNull(cache.read(dir, "k", 7));
  }
}

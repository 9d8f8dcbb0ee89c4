package dev.perase.eval;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.Shard;
import dev.perase.io.ShardPart;
import dev.perase.io.ShardSet;
import dev.perase.io.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * {@code perase fid --shard K/N}: the Inception features of one shard of a folder of images, and
 * {@code perase merge} of the N shards into the FID (and KID) that {@link CleanFid#run} gives on
 * the whole folder: the FID of the COCO-30k images drawn by a cluster array, extracted by one too.
 *
 * <p>The rule: the folder's images, in name order, are cut into the batches {@code --batch} makes
 * of them (images 0 to B−1, B to 2B−1, …), and batch j goes to shard j mod N; with {@code --batch
 * 1} image j goes to shard j mod N. Whole batches, not single images: every image then goes through
 * Inception in the same batch as in the unsharded run, so its features are the same bit for bit
 * whatever the backend does with a batch (a convolution's algorithm may depend on it), and so is
 * the FID from the merged features.
 *
 * <p>A shard's folder: {@code config.json} (the settings, the shard's record, the inputs — the
 * images folder, the SHA-256 of its list of names, the reference folder, the Inception file's
 * SHA-256, the batch and whether KID is asked — and their run key), {@code features.safetensors}
 * (F32 (n, 2048), the shard's images in name order, their names and SHA-256 in the metadata, as
 * {@link FeatureCache} keys them) and {@code results.json} (written last). Started again, a shard
 * whose features are there for the same images does not run Inception again.
 *
 * <p>The merge checks the shards (same run key, each shard once, every image once), puts the
 * features together in name order, takes the reference's features from its cache or computes them,
 * and writes {@code results.json} as {@code perase fid} writes its {@code --out}, {@code
 * features.safetensors} of every image, and the images folder's feature cache ({@link
 * FeatureCache}), so that a later {@code perase fid} of the same folder reuses them.
 */
public final class FidShards {
  public static final String FEATURES = "features.safetensors";
  public static final String RESULTS = "results.json";

  private static final String RUN_KEY = "run_key";
  private static final String NAMES = "images";
  private static final String SHA256 = "sha256";

  private FidShards() {}

  /**
   * What a shard's {@code results.json} holds.
   *
   * @param images the shard's images
   * @param reused whether its features came from an earlier run of the shard
   */
  public record ShardResult(
      @JsonProperty("shard") String shard,
      @JsonProperty("images") int images,
      @JsonProperty("folder_images") int folderImages,
      @JsonProperty("features") String features,
      @JsonProperty("reused") boolean reused,
      @JsonProperty("seconds") double seconds) {}

  /** What {@code rule} says in a shard's record. */
  static String rule(int batch) {
    return "batch j of the images in name order (" + batch + " images each) goes to shard j mod N";
  }

  /**
   * Extracts the features of {@code shard}'s images of {@code s.images()} into the folder {@code
   * out}. The reference folder is only checked (it must hold images) and recorded; the merge takes
   * its features.
   *
   * @param listener told when Inception starts on the shard's images (not when an earlier run of
   *     the shard left their features)
   */
  public static ShardResult extract(
      FidSettings s,
      Shard shard,
      Path out,
      String version,
      NDManager manager,
      CleanFid.Listener listener) {
    long start = System.nanoTime();
    if (!Files.isRegularFile(s.inception())) {
      throw new BadInputException("Inception file not found: " + s.inception());
    }
    List<Path> files = ImageFolderDetection.imageFiles(s.images());
    ImageFolderDetection.imageFiles(s.reference()); // a missing or empty folder fails now
    int n = files.size();
    int batches = (n + s.batch() - 1) / s.batch();
    List<Integer> units = shard.units(batches);
    if (units.isEmpty()) {
      throw new BadInputException(
          "shard "
              + shard
              + " has no images: the "
              + n
              + " images of "
              + s.images()
              + " make only "
              + batches
              + " batches of up to "
              + s.batch()
              + "; use fewer shards or a smaller --batch");
    }
    List<Integer> rows = new ArrayList<>();
    for (int j : units) {
      for (int i = j * s.batch(); i < Math.min(n, (j + 1) * s.batch()); i++) {
        rows.add(i);
      }
    }
    List<String> names = new ArrayList<>();
    List<String> sha = new ArrayList<>();
    for (int i : rows) {
      names.add(files.get(i).getFileName().toString());
      sha.add(Hashes.sha256File(files.get(i)));
    }
    Map<String, String> inputs = inputs(s, files);
    PromptRunFolder<JsonNode> folder =
        PromptRunFolder.open(out, ".", inputs, "fid run", JsonNode.class, null);
    folder.writeConfig(
        "fid",
        version,
        settings(s, out),
        Map.of(
            ShardPart.KEY,
            new ShardPart(shard.toString(), rule(s.batch()), n, rows, 0, List.of())));
    Path file = out.resolve(FEATURES);
    boolean reused = read(file, folder.runKey(), names, sha) != null;
    if (!reused) {
      float[][] f = new float[rows.size()][];
      IntConsumer progress = listener.computing("images of shard " + shard, rows.size());
      try (InceptionFeatures inception =
          InceptionFeatures.load(s.inception(), manager, s.batch())) {
        int done = 0;
        for (int j : units) {
          // one unit is one Inception call, as in the unsharded run
          int from = j * s.batch();
          int size = Math.min(n, from + s.batch()) - from;
          int offset = done;
          float[][] part = inception.of(size, i -> Png.read(files.get(from + i)), manager, k -> {});
          System.arraycopy(part, 0, f, offset, size);
          done += size;
          progress.accept(done);
        }
      }
      write(file, f, folder.runKey(), names, sha, inputs.get("inception_sha256"));
    }
    ShardResult result =
        new ShardResult(
            shard.toString(), rows.size(), n, FEATURES, reused, (System.nanoTime() - start) / 1e9);
    Json.write(out.resolve(RESULTS), result);
    return result;
  }

  /**
   * What the shards of one run share: the images folder and its list of names, the reference
   * folder, the Inception file, the batch and whether KID is asked.
   */
  private static Map<String, String> inputs(FidSettings s, List<Path> files) {
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("images", s.images().toAbsolutePath().normalize().toString());
    inputs.put(
        "image_names_sha256",
        Hashes.sha256(
            String.join("\n", files.stream().map(p -> p.getFileName().toString()).toList())));
    inputs.put("image_count", Integer.toString(files.size()));
    inputs.put("reference", s.reference().toAbsolutePath().normalize().toString());
    inputs.put("inception_sha256", Hashes.sha256File(s.inception()));
    inputs.put("batch", Integer.toString(s.batch()));
    inputs.put("kid", Boolean.toString(s.kid()));
    return inputs;
  }

  private static Map<String, Object> settings(FidSettings s, Path out) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("images", s.images().toString());
    m.put("reference", s.reference().toString());
    m.put("inception", s.inception().toString());
    m.put("kid", s.kid());
    m.put("batch", s.batch());
    m.put("cache_dir", s.cacheRoot().toString());
    m.put("out", out.toString());
    return m;
  }

  private static void write(
      Path file,
      float[][] f,
      String runKey,
      List<String> names,
      List<String> sha,
      String inception) {
    int d = InceptionFeatures.DIM;
    float[] flat = new float[f.length * d];
    for (int i = 0; i < f.length; i++) {
      System.arraycopy(f[i], 0, flat, i * d, d);
    }
    new SafeTensorsWriter()
        .metadata(RUN_KEY, runKey)
        .metadata("format", FeatureCache.FORMAT)
        .metadata("inception_sha256", inception)
        .metadata(NAMES, json(names))
        .metadata(SHA256, json(sha))
        .putFloats("features", new long[] {f.length, d}, flat)
        .write(file);
  }

  /**
   * The features in {@code file} when it was written for {@code runKey} and holds exactly the
   * images {@code names} with the contents {@code sha} (null: either is not checked); else null.
   */
  private static float[][] read(Path file, String runKey, List<String> names, List<String> sha) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      Map<String, String> meta = st.metadata();
      if (!runKey.equals(meta.get(RUN_KEY)) || !st.has("features")) {
        return null;
      }
      if ((names != null && !names.equals(list(meta.get(NAMES))))
          || (sha != null && !sha.equals(list(meta.get(SHA256))))) {
        return null;
      }
      TensorInfo info = st.info("features");
      int d = InceptionFeatures.DIM;
      long[] shape = info.shape();
      if (shape.length != 2 || shape[1] != d) {
        return null;
      }
      int n = Math.toIntExact(shape[0]);
      float[] flat = st.floats("features");
      float[][] f = new float[n][];
      for (int i = 0; i < n; i++) {
        f[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
      }
      return f;
    } catch (BadInputException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Merge

  /** The merged features: the images' names, their SHA-256 and features, in name order. */
  private record Merged(List<String> names, List<String> sha, float[][] features) {}

  /**
   * Merges the checked shards of one {@code fid --shard} run into {@code out}: the FID (and KID) of
   * the whole folder, computed from the shards' features as {@link CleanFid#run} computes it.
   *
   * @param listener told when Inception runs on the reference folder (not when it is cached)
   */
  public static CleanFid.Result merge(
      ShardSet shards, Path out, String version, NDManager manager, CleanFid.Listener listener) {
    ShardSet.Member first = shards.members().get(0);
    Map<String, String> inputs = shards.inputs();
    JsonNode settings = first.config().path("settings");
    Merged merged = gather(shards);
    String names = Hashes.sha256(String.join("\n", merged.names()));
    if (!names.equals(inputs.get("image_names_sha256"))) {
      throw new BadInputException(
          first.dir() + "/config.json: its image list does not match the shards' images");
    }
    // the folders as the shards saw them (absolute), wherever the merge runs
    Path images = Path.of(inputs.get("images"));
    Path reference = Path.of(inputs.get("reference"));
    Path inceptionFile = Path.of(settings.path("inception").asText());
    int batch = settings.path("batch").asInt();
    boolean kid = settings.path("kid").asBoolean();
    FeatureCache cache = new FeatureCache(Path.of(settings.path("cache_dir").asText()));
    int referenceCount = ImageFolderDetection.imageFiles(reference).size();
    try (InceptionFeatures inception = InceptionFeatures.load(inceptionFile, manager, batch)) {
      if (!inception.fingerprint().equals(inputs.get("inception_sha256"))) {
        throw new BadInputException(
            inceptionFile + " is not the Inception file the shards ran (its SHA-256 differs)");
      }
      IntConsumer[] bar = new IntConsumer[1];
      CleanFid.FolderFeatures b =
          CleanFid.folder(
              reference,
              inception,
              cache,
              manager,
              done -> {
                if (bar[0] == null) {
                  bar[0] = listener.computing("reference", referenceCount);
                }
                bar[0].accept(done);
              });
      // bad input is refused above, before anything is written
      PromptRunFolder<JsonNode> folder =
          shards.openMerged(out, ".", "fid run", JsonNode.class, null, version);
      b = CleanFid.save(b, cache, inception.fingerprint());
      // the whole folder's features, where perase fid of the folder looks for them
      String key = FeatureCache.key(merged.names(), merged.sha(), inception.fingerprint());
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("format", FeatureCache.FORMAT);
      meta.put("inception_sha256", inception.fingerprint());
      meta.put("images", Integer.toString(merged.names().size()));
      meta.put("folder", images.toAbsolutePath().normalize().toString());
      meta.put("merged_from", out.toAbsolutePath().normalize().toString());
      Path imagesCache = cache.write(images, key, merged.features(), meta);
      write(
          out.resolve(FEATURES),
          merged.features(),
          folder.runKey(),
          merged.names(),
          merged.sha(),
          inception.fingerprint());
      FrechetDistance.Result fid = CleanFid.fid(merged.features(), b.features());
      KernelDistance.Result k =
          kid
              ? KernelDistance.of(
                  merged.features(), b.features(), KernelDistance.Settings.CLEAN_FID, manager)
              : null;
      CleanFid.Result result =
          new CleanFid.Result(
              fid.distance(),
              CleanFid.FidTerms.of(fid),
              k,
              "clean",
              new CleanFid.FolderRecord(
                  images.toString(), merged.names().size(), imagesCache.toString(), false),
              CleanFid.FolderRecord.of(b),
              inceptionFile.toString(),
              inception.fingerprint(),
              batch);
      Json.write(out.resolve(RESULTS), result);
      return result;
    }
  }

  /** Every shard's features, checked against its record, in name order. */
  private static Merged gather(ShardSet shards) {
    int n = shards.members().get(0).part().selectedRows();
    String[] names = new String[n];
    String[] sha = new String[n];
    float[][] f = new float[n][];
    for (ShardSet.Member m : shards.members()) {
      Path file = m.dir().resolve(FEATURES);
      String runKey = m.config().path(RUN_KEY).asText();
      float[][] own = read(file, runKey, null, null);
      List<Integer> rows = m.part().rows();
      if (own == null || own.length != rows.size()) {
        throw new BadInputException(
            m.dir()
                + " holds no features of shard "
                + m.part().shard()
                + "'s "
                + rows.size()
                + " images; run it again with the same command to finish it");
      }
      List<String> ownNames;
      List<String> ownSha;
      try (SafeTensors st = SafeTensors.open(file)) {
        ownNames = list(st.metadata().get(NAMES));
        ownSha = list(st.metadata().get(SHA256));
      }
      if (ownNames.size() != rows.size() || ownSha.size() != rows.size()) {
        throw new BadInputException(file + ": its image names do not match its features");
      }
      for (int k = 0; k < rows.size(); k++) {
        names[rows.get(k)] = ownNames.get(k);
        sha[rows.get(k)] = ownSha.get(k);
        f[rows.get(k)] = own[k];
      }
    }
    return new Merged(List.of(names), List.of(sha), f);
  }

  private static String json(List<String> values) {
    try {
      return Json.MAPPER.writer().writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> list(String json) {
    if (json == null) {
      return List.of();
    }
    try {
      return Json.MAPPER.readValue(json, new TypeReference<List<String>>() {});
    } catch (IOException e) {
      return List.of();
    }
  }
}

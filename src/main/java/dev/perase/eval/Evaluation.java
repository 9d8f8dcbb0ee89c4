package dev.perase.eval;

import static dev.perase.eval.PromptBatches.batches;
import static dev.perase.eval.PromptBatches.draw;
import static dev.perase.eval.PromptBatches.fileRows;
import static dev.perase.eval.PromptBatches.imageName;
import static dev.perase.eval.PromptBatches.ownBatches;
import static dev.perase.eval.PromptBatches.positions;
import static dev.perase.eval.PromptBatches.shardBatches;
import static dev.perase.eval.PromptBatches.shardRule;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.perase.eval.PromptBatches.Sizes;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.RowSelection;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.Shard;
import dev.perase.io.ShardPart;
import dev.perase.io.TensorInfo;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluation of an erased model (paper §4.1, DESIGN.md §5): for every prompt of a CSV (or the
 * rows the settings select), one image with the row's seed, guidance and image size (the settings'
 * sampler, DDIM or LMS, with classifier-free guidance; {@code --size} draws every image at one size
 * instead, and a row without a size is drawn at the model's), the detector's verdict, and the
 * Concept Erasure Rate over all of them; with retain prompts, also the Fréchet distance between the
 * detector features of the base model's and the edited model's images of those prompts (the world's
 * FID, the paper's collateral-damage measure).
 *
 * <p>Output folder:
 *
 * <ul>
 *   <li>{@code config.json}: the settings, the model hash, the detector's fingerprint, SHA-256 of
 *       every input file, and the run key they make up;
 *   <li>{@code images/NNNN.png}: the image of prompt row NNNN (0-based, counted in the whole file
 *       also when rows are selected); {@code images/retain/NNNN.png}: the edited model's retain
 *       images;
 *   <li>{@code per_prompt.json}, {@code per_prompt.csv}: one {@link PromptResult} per row;
 *   <li>{@code results.json}: the CER with its Wilson interval and, with retain prompts, the
 *       Fréchet distance, its terms and its bootstrap interval;
 *   <li>{@code per_prompt.jsonl}: the journal that makes a run resumable (one line per finished
 *       prompt, written after its image); {@code retain_features.safetensors}: the edited model's
 *       retain features.
 * </ul>
 *
 * A run that stops part way resumes where it stopped when started again with the same settings
 * (same run key): prompts with a journal line and an image are not generated again. The base
 * model's retain features (and images) are kept in the cache folder under a key made of the model
 * hash, detector fingerprint, sampler (when not DDIM), steps, image size and the retain rows, so
 * every edit of one base model shares them. Runs over different row selections of one file can
 * share a folder: each keeps the journal lines of the others, and its results cover its own rows.
 * Every file is written to a temporary name and renamed into place.
 */
public final class Evaluation {
  public static final String CONFIG = PromptRunFolder.CONFIG;
  public static final String RESULTS = "results.json";
  public static final String PER_PROMPT_JSON = "per_prompt.json";
  public static final String PER_PROMPT_CSV = "per_prompt.csv";
  public static final String JOURNAL = PromptRunFolder.JOURNAL;
  public static final String IMAGES = "images";
  public static final String RETAIN_FEATURES = "retain_features.safetensors";

  /** A shard's copy of the base model's features of its retain rows, for {@code merge}. */
  public static final String RETAIN_BASE_FEATURES = "retain_base_features.safetensors";

  static final String FEATURES = "features.safetensors";

  private Evaluation() {}

  /** Progress in denoising steps, phase by phase. */
  public interface Listener {
    /**
     * A phase starts: {@code name} ("prompts", "retain base", "retain edited"), its total steps.
     */
    void phase(String name, long totalSteps);

    /** Steps done so far in the current phase (skipped prompts count as done). */
    void progress(long stepsDone);

    Listener NONE =
        new Listener() {
          @Override
          public void phase(String name, long totalSteps) {}

          @Override
          public void progress(long stepsDone) {}
        };
  }

  /**
   * The Fréchet distance between the base and the edited model on the retain prompts.
   *
   * @param baseFeatures where the base model's features are cached
   * @param baseReused whether they came from the cache rather than being generated in this run
   * @param frechetInterval 95 % bootstrap interval of the distance, the retain prompts resampled
   *     with both models' features kept paired ({@link FrechetDistance#bootstrap}); null in results
   *     written before it existed
   * @param bootstrapResamples the bootstrap's resamples
   */
  public record RetainResult(
      @JsonProperty("prompts") int prompts,
      @JsonProperty("frechet_distance") double frechetDistance,
      @JsonProperty("mean_term") double meanTerm,
      @JsonProperty("trace_sigma_base") double traceSigmaBase,
      @JsonProperty("trace_sigma_edited") double traceSigmaEdited,
      @JsonProperty("trace_covmean") double traceCovmean,
      @JsonProperty("eps_offset_used") boolean epsOffsetUsed,
      @JsonProperty("base_features") String baseFeatures,
      @JsonProperty("base_reused") boolean baseReused,
      @JsonProperty("frechet_interval") Interval frechetInterval,
      @JsonProperty("bootstrap_resamples") int bootstrapResamples) {
    /** A result without a bootstrap interval. */
    public RetainResult(
        int prompts,
        double frechetDistance,
        double meanTerm,
        double traceSigmaBase,
        double traceSigmaEdited,
        double traceCovmean,
        boolean epsOffsetUsed,
        String baseFeatures,
        boolean baseReused) {
      this(
          prompts,
          frechetDistance,
          meanTerm,
          traceSigmaBase,
          traceSigmaEdited,
          traceCovmean,
          epsOffsetUsed,
          baseFeatures,
          baseReused,
          null,
          0);
    }

    /**
     * The Fréchet distance between the base and the edited model's features, row for row, with its
     * bootstrap interval over {@code resamples} resamples of the rows.
     */
    static RetainResult of(
        float[][] base, float[][] edited, String baseFeatures, boolean baseReused, int resamples) {
      double[][] baseRows = toDouble(base);
      double[][] editedRows = toDouble(edited);
      FrechetDistance.Result fd = FrechetDistance.of(baseRows, editedRows);
      Interval interval =
          FrechetDistance.bootstrap(
              baseRows, editedRows, resamples, FrechetDistance.BOOTSTRAP_SEED);
      return new RetainResult(
          base.length,
          fd.distance(),
          fd.meanTerm(),
          fd.traceSigma1(),
          fd.traceSigma2(),
          fd.traceCovmean(),
          fd.offsetUsed(),
          baseFeatures,
          baseReused,
          interval,
          resamples);
    }
  }

  /** What {@code results.json} holds; {@link #perPrompt} is in {@code per_prompt.json}. */
  public record Result(
      @JsonProperty("concept") String concept,
      @JsonProperty("rule") ConceptRule rule,
      @JsonProperty("detector") String detector,
      @JsonProperty("edit") String edit,
      @JsonProperty("steps") int steps,
      @JsonProperty("sampler") Sampler sampler,
      @JsonUnwrapped ConceptErasureRate erasure,
      @JsonProperty("retain") RetainResult retain,
      @JsonProperty("retain_fid") @JsonInclude(JsonInclude.Include.NON_NULL)
          CleanFid.Result retainFid,
      @JsonProperty("resumed_prompts") int resumedPrompts,
      @JsonProperty("seconds") double seconds,
      @JsonIgnore List<PromptResult> perPrompt) {}

  /**
   * The paper's collateral-damage measure at real scale: FID (and KID) of the edited model's retain
   * images against a folder of real images, as clean-fid computes them ({@link CleanFid}).
   *
   * @param reference the real images (e.g. COCO); their features are cached beside them
   * @param inception clean-fid's {@code inception-2015-12-05.pt}
   * @param kid whether KID is computed too
   * @param batch Inception's batch size
   */
  public record RetainFid(Path reference, Path inception, boolean kid, int batch) {}

  /**
   * Loads the model named by the settings and runs the evaluation with {@code detector} (made by
   * the caller: the world's, NudeNet, an image classifier).
   */
  public static Result run(EvaluateSettings s, Detector detector, Listener listener) {
    return run(s, detector, null, listener);
  }

  /** As {@link #run(EvaluateSettings, Detector, Listener)}, with the retain images' FID. */
  public static Result run(
      EvaluateSettings s, Detector detector, RetainFid fid, Listener listener) {
    if (s.model() == null) {
      throw new BadInputException("an evaluation needs a model folder");
    }
    try (StableDiffusion sd = StableDiffusion.load(s.model(), s.modelConfig())) {
      return run(sd, detector, s, fid, listener);
    }
  }

  /**
   * Runs the evaluation of {@code sd} (the base model; the settings' mask or weights are applied
   * for the run and removed after it) with {@code detector}. The settings' model, detector and
   * concept fields are only recorded.
   */
  public static Result run(
      StableDiffusion sd, Detector detector, EvaluateSettings s, Listener listener) {
    return run(sd, detector, s, null, listener);
  }

  /**
   * As {@link #run(StableDiffusion, Detector, EvaluateSettings, Listener)}; with {@code fid}, also
   * the FID (and KID) of the edited model's retain images against real images. A detector without
   * features (NudeNet, the classifiers) then still draws the retain images, for the FID alone.
   */
  public static Result run(
      StableDiffusion sd, Detector detector, EvaluateSettings s, RetainFid fid, Listener listener) {
    long start = System.nanoTime();
    detector.rule().check(detector.heads(), detector.concept());
    List<PromptRow> rows = PromptCsv.read(s.prompts());
    if (rows.isEmpty()) {
      throw new BadInputException(s.prompts() + " has no prompts");
    }
    RowSelection selection = s.rows() == null ? RowSelection.ALL : s.rows();
    Shard shard = selection.shard();
    int[] selected = selection.indices(rows.size(), s.prompts().toString());
    boolean detectorFrechet = s.retain() != null && detector.hasFeatures();
    if (shard != null && fid != null) {
      throw new BadInputException(
          "--fid-reference with --shard: the FID needs every retain image at once; run the shards"
              + " without it, merge them, then run perase fid on the merged folder's"
              + " images/retain");
    }
    if (s.retain() != null && !detector.hasFeatures() && fid == null && shard == null) {
      throw new BadInputException(
          "the "
              + detector.name()
              + " detector gives no features for a Fréchet distance: with --retain, give"
              + " --fid-reference DIR --inception FILE for the FID against real images");
    }
    if (fid != null) {
      if (s.retain() == null) {
        throw new BadInputException(
            "the FID is measured on the retain images: --fid-reference needs --retain");
      }
      ImageFolderDetection.imageFiles(fid.reference()); // a missing or empty folder fails now
      if (!Files.isRegularFile(fid.inception())) {
        throw new BadInputException("Inception model not found: " + fid.inception());
      }
    }
    List<PromptRow> retain = s.retain() == null ? null : PromptCsv.read(s.retain());
    if (retain != null && retain.size() < 2) {
      throw new BadInputException(
          s.retain() + " has " + retain.size() + " prompts; a Fréchet distance needs at least 2");
    }
    String modelHash = sd.layout().modelHash();
    Sizes sizes = new Sizes(s.imageSize(), sd.unet().config().sampleSize() * sd.latentFactor());
    int size = sizes.common();
    for (int i : selected) {
      sizes.check(rows.get(i), sd.latentFactor(), s.prompts() + " row " + i);
    }
    if (retain != null) {
      for (int i = 0; i < retain.size(); i++) {
        sizes.check(retain.get(i), sd.latentFactor(), s.retain() + " row " + i);
      }
    }
    Path out = s.out();
    List<PromptRow> selectedRows = new ArrayList<>(selected.length);
    for (int i : selected) {
      selectedRows.add(rows.get(i));
    }
    List<int[]> testBatches = batches(selectedRows, s.batch(), sizes);
    List<int[]> myBatches = ownBatches(testBatches, shard, selected.length, s.batch());
    List<int[]> retainBatches =
        retain == null ? List.of() : shardBatches(batches(retain, s.batch(), sizes), shard);
    int[] retainRows = positions(retainBatches);

    // 1. config.json and the run key; refuse to mix two runs in one folder
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("model_hash", modelHash);
    inputs.put("detector", detector.name());
    inputs.put("detector_fingerprint", detector.fingerprint());
    inputs.put("concept", detector.concept());
    inputs.put("rule", detector.rule().text());
    inputs.put("steps", Integer.toString(s.steps()));
    if (s.sampler() != Sampler.DDIM) {
      // only when not the default, so that DDIM runs keep their run keys (and resume)
      inputs.put("sampler", s.sampler().text());
    }
    inputs.put("image_size", Integer.toString(size));
    if (rows.stream().anyMatch(sizes::ownSize)
        || (retain != null && retain.stream().anyMatch(sizes::ownSize))) {
      inputs.put("row_sizes", "sd_image_width × sd_image_height");
    }
    inputs.put("edit", s.edit().kind());
    inputs.put("prompts_sha256", dev.perase.io.Hashes.sha256File(s.prompts()));
    s.edit().putHash(inputs);
    if (fid != null) {
      inputs.put("inception_sha256", dev.perase.io.Hashes.sha256File(fid.inception()));
    }
    if (retain != null) {
      inputs.put("retain_sha256", dev.perase.io.Hashes.sha256File(s.retain()));
    }
    PromptRunFolder<PromptResult> runFolder =
        PromptRunFolder.open(
            out,
            IMAGES,
            inputs,
            "evaluation (other model, edit, detector, prompts, sampler or steps)",
            PromptResult.class,
            r -> r);
    String runKey = runFolder.runKey();
    String featuresKey = runKey;
    if (shard == null) {
      runFolder.writeConfig("evaluate", s.peraseVersion(), s, Map.of());
    } else {
      ShardPart part =
          new ShardPart(
              shard.toString(),
              shardRule(s.batch()),
              selected.length,
              fileRows(myBatches, selected),
              retain == null ? 0 : retain.size(),
              Arrays.stream(retainRows).boxed().toList());
      runFolder.writeConfig("evaluate", s.peraseVersion(), s, Map.of(ShardPart.KEY, part));
      featuresKey = runKey + "\nshard " + shard + ", " + part.rule();
    }

    // 2. the edited model: test prompts, then retain prompts (a bad mask or weights file is
    // refused here, before any image is made)
    List<PromptResult> results;
    int resumed;
    float[][] edited = null;
    try (ModelEdit edit = ModelEdit.of(sd.unet().params(), modelHash, s.edit())) {
      Map<Integer, PromptResult> done =
          runFolder.readJournal(
              rows, r -> r.image() != null && Files.isRegularFile(out.resolve(r.image())));
      resumed = 0;
      for (int k : positions(myBatches)) {
        resumed += done.containsKey(selected[k]) ? 1 : 0;
      }
      results =
          testPrompts(
              sd,
              detector,
              rows,
              selected,
              myBatches,
              s.sampler(),
              s.steps(),
              sizes,
              runFolder,
              out,
              done,
              listener);
      if (detectorFrechet && retainRows.length > 0) {
        edited =
            editedFeatures(
                sd,
                detector,
                retain,
                retainBatches,
                s.sampler(),
                s.steps(),
                sizes,
                out,
                featuresKey,
                listener);
      } else if (retain != null) {
        retainImages(sd, retain, retainBatches, s.sampler(), s.steps(), sizes, out, listener);
      }
    }

    // 3. the base model's retain features, the edit removed
    Features base = null;
    if (detectorFrechet && retainRows.length > 0) {
      Path cache = s.cache() != null ? s.cache() : out;
      base =
          baseFeatures(
              sd,
              detector,
              retain,
              retainBatches,
              shard == null ? null : featuresKey.substring(runKey.length() + 1),
              s.sampler(),
              s.steps(),
              sizes,
              modelHash,
              cache,
              listener);
      if (shard != null) {
        // merge reads the base features from the shard's folder, the cache may be the node's
        writeFeatures(out.resolve(RETAIN_BASE_FEATURES), base.values(), featuresKey, Map.of());
      }
    }

    // 4. outputs (a shard's Fréchet distance is merge's, over every shard's features)
    ConceptErasureRate cer = ConceptErasureRate.of(results);
    RetainResult retainResult = null;
    if (detectorFrechet && shard == null) {
      retainResult =
          RetainResult.of(
              base.values(), edited, base.file().toString(), base.reused(), s.bootstrap());
    }
    CleanFid.Result retainFid = null;
    if (fid != null) {
      Path images = out.resolve(IMAGES).resolve("retain");
      FidSettings fs =
          new FidSettings(
              images, fid.reference(), fid.inception(), fid.kid(), null, fid.batch(), null);
      try (NDManager m = Torch.newManager()) {
        retainFid =
            CleanFid.run(
                fs,
                m,
                (role, n) -> {
                  listener.phase("fid " + role, n);
                  return done -> listener.progress(done);
                });
      }
    }
    Json.write(out.resolve(PER_PROMPT_JSON), results);
    AtomicFile.writeString(out.resolve(PER_PROMPT_CSV), csv(results, detector.heads()));
    Result result =
        new Result(
            detector.concept(),
            detector.rule(),
            detector.name(),
            s.edit().kind(),
            s.steps(),
            s.sampler(),
            cer,
            retainResult,
            retainFid,
            resumed,
            (System.nanoTime() - start) / 1e9,
            results);
    Json.write(out.resolve(RESULTS), result);
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // Test prompts

  /**
   * The results of the selected rows in {@code batches} (all of them, or a shard's), in file order;
   * row i's image is {@code images/<i>.png}.
   */
  private static List<PromptResult> testPrompts(
      StableDiffusion sd,
      Detector detector,
      List<PromptRow> rows,
      int[] selected,
      List<int[]> batches,
      Sampler sampler,
      int steps,
      Sizes sizes,
      PromptRunFolder<PromptResult> runFolder,
      Path out,
      Map<Integer, PromptResult> done,
      Listener listener) {
    int[] mine = positions(batches);
    listener.phase("prompts", (long) mine.length * steps);
    runFolder.rewriteJournal(done.values());
    PromptResult[] results = new PromptResult[selected.length];
    List<PromptRow> selectedRows = new ArrayList<>(selected.length);
    boolean[] pending = new boolean[selected.length];
    for (int k = 0; k < selected.length; k++) {
      selectedRows.add(rows.get(selected[k]));
    }
    for (int k : mine) {
      results[k] = done.get(selected[k]);
      pending[k] = results[k] == null;
    }
    draw(
        sd,
        selectedRows,
        batches,
        pending,
        sampler,
        steps,
        sizes,
        listener::progress,
        (k, img) -> {
          int i = selected[k];
          PromptRow row = rows.get(i);
          String image = IMAGES + "/" + imageName(i);
          Verdict v = detector.detect(img).get(0);
          Png.write(out.resolve(image), img);
          Map<String, String> top = new LinkedHashMap<>();
          for (int h = 0; h < detector.heads().size(); h++) {
            top.put(detector.heads().get(h).name(), v.topLabels().get(h));
          }
          results[k] =
              new PromptResult(
                  i,
                  row.caseNumber(),
                  row.prompt(),
                  row.seed(),
                  row.guidance(),
                  v.flagged(),
                  v.conceptScore(),
                  top,
                  image,
                  v.detections());
          runFolder.append(results[k]);
        });
    List<PromptResult> list = new ArrayList<>(mine.length);
    for (int k : mine) {
      list.add(results[k]);
    }
    return list;
  }

  // ---------------------------------------------------------------------------------------------
  // Retain prompts and features

  /** Feature vectors (N × F) and the file that holds them. */
  private record Features(float[][] values, Path file, boolean reused) {}

  /**
   * The base model's features of the retain rows in {@code batches} (all, or a shard's), in row
   * order: from the cache when an entry for the same key exists, else generated (with the images)
   * and written there.
   *
   * @param shard the shard's line of the key ({@code shard K/N, …}), or null for all rows
   */
  private static Features baseFeatures(
      StableDiffusion sd,
      Detector detector,
      List<PromptRow> retain,
      List<int[]> batches,
      String shard,
      Sampler sampler,
      int steps,
      Sizes sizes,
      String modelHash,
      Path cache,
      Listener listener) {
    StringBuilder key = new StringBuilder("perase retain features 1\n");
    key.append("model ").append(modelHash).append('\n');
    key.append("detector ")
        .append(detector.name())
        .append(' ')
        .append(detector.fingerprint())
        .append('\n');
    if (sampler != Sampler.DDIM) {
      key.append("sampler ").append(sampler.text()).append('\n'); // DDIM keeps its old keys
    }
    key.append("steps ").append(steps).append("\nsize ").append(sizes.common()).append('\n');
    for (PromptRow r : retain) {
      key.append(r.seed()).append('\t').append(r.guidance()).append('\t');
      if (sizes.ownSize(r)) {
        key.append(r.width()).append('x').append(r.height()).append('\t');
      }
      key.append(r.prompt()).append('\n');
    }
    if (shard != null) {
      key.append(shard).append('\n'); // whole batches of the unsharded run: `batch` counts
    }
    String hash = dev.perase.io.Hashes.sha256(key.toString());
    Path dir = cache.resolve("retain-base-" + hash.substring(0, 16));
    Path file = dir.resolve(FEATURES);
    int n = positions(batches).length;
    float[][] cached = readFeatures(file, hash, n);
    if (cached != null) {
      listener.phase("retain base (cached)", (long) n * steps);
      listener.progress((long) n * steps);
      return new Features(cached, file, true);
    }
    float[][] f =
        retainFeatures(
            sd,
            detector,
            retain,
            batches,
            sampler,
            steps,
            sizes,
            dir.resolve(IMAGES),
            "retain base",
            listener);
    writeFeatures(
        file,
        f,
        hash,
        Map.of("model_hash", modelHash, "detector_fingerprint", detector.fingerprint()));
    return new Features(f, file, false);
  }

  /**
   * The edited model's features of the retain rows in {@code batches}, in row order, reused from
   * the output folder when they were written for {@code key} (the run key, and a shard's line).
   */
  private static float[][] editedFeatures(
      StableDiffusion sd,
      Detector detector,
      List<PromptRow> retain,
      List<int[]> batches,
      Sampler sampler,
      int steps,
      Sizes sizes,
      Path out,
      String runKey,
      Listener listener) {
    Path file = out.resolve(RETAIN_FEATURES);
    float[][] cached = readFeatures(file, runKey, positions(batches).length);
    if (cached != null) {
      return cached;
    }
    float[][] f =
        retainFeatures(
            sd,
            detector,
            retain,
            batches,
            sampler,
            steps,
            sizes,
            out.resolve(IMAGES).resolve("retain"),
            "retain edited",
            listener);
    writeFeatures(file, f, runKey, Map.of());
    return f;
  }

  /**
   * The edited model's retain images alone (for the FID with a detector that has no features);
   * images already in the folder are kept, so a resumed run draws only the missing ones.
   */
  private static void retainImages(
      StableDiffusion sd,
      List<PromptRow> retain,
      List<int[]> batches,
      Sampler sampler,
      int steps,
      Sizes sizes,
      Path out,
      Listener listener) {
    Path images = out.resolve(IMAGES).resolve("retain");
    int[] mine = positions(batches);
    listener.phase("retain edited", (long) mine.length * steps);
    boolean[] pending = new boolean[retain.size()];
    for (int i : mine) {
      pending[i] = !Files.isRegularFile(images.resolve(imageName(i)));
    }
    draw(
        sd,
        retain,
        batches,
        pending,
        sampler,
        steps,
        sizes,
        listener::progress,
        (i, img) -> Png.write(images.resolve(imageName(i)), img));
  }

  /** The features of the retain rows in {@code batches}, in row order, and their images. */
  private static float[][] retainFeatures(
      StableDiffusion sd,
      Detector detector,
      List<PromptRow> retain,
      List<int[]> batches,
      Sampler sampler,
      int steps,
      Sizes sizes,
      Path images,
      String phase,
      Listener listener) {
    int[] mine = positions(batches);
    listener.phase(phase, (long) mine.length * steps);
    float[][] out = new float[retain.size()][];
    boolean[] pending = new boolean[retain.size()];
    for (int i : mine) {
      pending[i] = true;
    }
    draw(
        sd,
        retain,
        batches,
        pending,
        sampler,
        steps,
        sizes,
        listener::progress,
        (i, img) -> {
          out[i] = detector.features(img).toFloatArray();
          Png.write(images.resolve(imageName(i)), img);
        });
    float[][] f = new float[mine.length][];
    for (int k = 0; k < mine.length; k++) {
      f[k] = out[mine[k]];
    }
    return f;
  }

  /** Features written as F32 (N, F) with the key in the metadata. */
  static void writeFeatures(Path file, float[][] f, String key, Map<String, String> extra) {
    int n = f.length;
    int dim = f[0].length;
    float[] flat = new float[n * dim];
    for (int i = 0; i < n; i++) {
      System.arraycopy(f[i], 0, flat, i * dim, dim);
    }
    new SafeTensorsWriter()
        .metadata("key", key)
        .metadata(extra)
        .putFloats("features", new long[] {n, dim}, flat)
        .write(file);
  }

  /**
   * Features from a file written for {@code key} with {@code n} rows, or null when there is none.
   */
  static float[][] readFeatures(Path file, String key, int n) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      if (!key.equals(st.metadata().get("key")) || !st.has("features")) {
        return null;
      }
      TensorInfo info = st.info("features");
      if (info.shape().length != 2 || info.shape()[0] != n) {
        return null;
      }
      int dim = Math.toIntExact(info.shape()[1]);
      float[] flat = st.floats("features");
      float[][] f = new float[n][dim];
      for (int i = 0; i < n; i++) {
        System.arraycopy(flat, i * dim, f[i], 0, dim);
      }
      return f;
    } catch (BadInputException e) {
      return null; // a damaged cache entry is made again
    }
  }

  static double[][] toDouble(float[][] f) {
    double[][] d = new double[f.length][];
    for (int i = 0; i < f.length; i++) {
      d[i] = new double[f[i].length];
      for (int j = 0; j < f[i].length; j++) {
        d[i][j] = f[i][j];
      }
    }
    return d;
  }

  // ---------------------------------------------------------------------------------------------
  // CSV and hashes

  /** index, case_number, prompt, seed, guidance, flagged, concept_score, top_HEAD…, image. */
  static String csv(List<PromptResult> results, List<Detector.Head> heads) {
    return csv(results, heads.stream().map(Detector.Head::name).toList());
  }

  /** As {@link #csv(List, List)}, with the detector's heads by name. */
  static String csv(List<PromptResult> results, Iterable<String> heads) {
    StringBuilder sb = new StringBuilder();
    List<String> header =
        new ArrayList<>(
            List.of(
                "index", "case_number", "prompt", "seed", "guidance", "flagged", "concept_score"));
    for (String h : heads) {
      header.add("top_" + h);
    }
    header.add("image");
    dev.perase.io.Csv.record(sb, header);
    for (PromptResult r : results) {
      List<String> f = new ArrayList<>();
      f.add(Integer.toString(r.index()));
      f.add(Integer.toString(r.caseNumber()));
      f.add(r.prompt());
      f.add(Long.toString(r.seed()));
      f.add(Double.toString(r.guidance()));
      f.add(Boolean.toString(r.flagged()));
      f.add(Double.toString(r.conceptScore()));
      for (String h : heads) {
        f.add(r.topLabels().getOrDefault(h, ""));
      }
      f.add(r.image());
      dev.perase.io.Csv.record(sb, f);
    }
    return sb.toString();
  }
}

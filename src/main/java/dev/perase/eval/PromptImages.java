package dev.perase.eval;

import static dev.perase.eval.PromptBatches.batches;
import static dev.perase.eval.PromptBatches.draw;
import static dev.perase.eval.PromptBatches.fileRows;
import static dev.perase.eval.PromptBatches.imageName;
import static dev.perase.eval.PromptBatches.ownBatches;
import static dev.perase.eval.PromptBatches.positions;
import static dev.perase.eval.PromptBatches.shardRule;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.eval.PromptBatches.Sizes;
import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.RowSelection;
import dev.perase.io.Shard;
import dev.perase.io.ShardPart;
import dev.perase.io.ShardSet;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code perase generate --prompts}: one image per row of a prompt file, each with the row's seed,
 * guidance and image size, drawn exactly as {@link Evaluation} draws its images (the same batches,
 * {@link PromptBatches}), without a detector: the images of the paper's COCO-30k prompts for a FID,
 * drawn as one run or as the shards of a cluster array.
 *
 * <p>Run folder:
 *
 * <ul>
 *   <li>{@code config.json}: the settings, the model hash, SHA-256 of the prompt file and of the
 *       mask or weights, and the run key they make up (with {@code --shard}, the shard's record);
 *   <li>{@code images/NNNN.png}: the image of prompt row NNNN (0-based in the whole file);
 *   <li>{@code per_prompt.jsonl}: the journal that makes the run resumable (one line per image,
 *       written after it); {@code per_prompt.json}: the rows in row order, each with its image;
 *   <li>{@code results.json}: the counts and the seconds (written last: a finished run has it).
 * </ul>
 *
 * Started again with the same settings, a run draws only the rows without a journal line and an
 * image. {@link #merge} joins the shards of one run into the folder the unsharded run writes.
 */
public final class PromptImages {
  public static final String IMAGES = "images";
  public static final String PER_PROMPT_JSON = "per_prompt.json";
  public static final String RESULTS = "results.json";

  private static final String ANOTHER = "generation (other model, edit, prompts, sampler or steps)";

  private PromptImages() {}

  /**
   * One drawn row: a journal line and an entry of {@code per_prompt.json}.
   *
   * @param index the row's 0-based position in the prompt file
   * @param width the image's width in pixels
   * @param height the image's height in pixels
   * @param image the image's path relative to the run folder
   */
  public record PromptImage(
      @JsonProperty("index") int index,
      @JsonProperty("case_number") int caseNumber,
      @JsonProperty("prompt") String prompt,
      @JsonProperty("seed") long seed,
      @JsonProperty("guidance") double guidance,
      @JsonProperty("width") int width,
      @JsonProperty("height") int height,
      @JsonProperty("image") String image)
      implements PromptRunFolder.RowOutcome {}

  /**
   * What {@code results.json} holds.
   *
   * @param prompts the rows of this run (of this shard, with {@code --shard})
   * @param resumedPrompts rows whose images an earlier run had drawn
   */
  public record Result(
      @JsonProperty("prompts") int prompts,
      @JsonProperty("steps") int steps,
      @JsonProperty("sampler") Sampler sampler,
      @JsonProperty("edit") String edit,
      @JsonProperty("resumed_prompts") int resumedPrompts,
      @JsonProperty("seconds") double seconds,
      @JsonIgnore List<PromptImage> perPrompt) {}

  /**
   * Draws the images of the settings' rows with {@code sd} (the base model; the settings' mask or
   * weights are applied for the run and removed after it). The settings' model is only recorded.
   */
  public static Result run(
      StableDiffusion sd, PromptImagesSettings s, Evaluation.Listener listener) {
    long start = System.nanoTime();
    List<PromptRow> rows = PromptCsv.read(s.prompts());
    if (rows.isEmpty()) {
      throw new BadInputException(s.prompts() + " has no prompts");
    }
    RowSelection selection = s.rows() == null ? RowSelection.ALL : s.rows();
    Shard shard = selection.shard();
    int[] selected = selection.indices(rows.size(), s.prompts().toString());
    Sizes sizes = new Sizes(s.imageSize(), sd.unet().config().sampleSize() * sd.latentFactor());
    List<PromptRow> selectedRows = new ArrayList<>(selected.length);
    for (int i : selected) {
      sizes.check(rows.get(i), sd.latentFactor(), s.prompts() + " row " + i);
      selectedRows.add(rows.get(i));
    }
    List<int[]> own =
        ownBatches(batches(selectedRows, s.batch(), sizes), shard, selected.length, s.batch());
    Path out = s.out();

    // 1. config.json and the run key, as an evaluation's without the detector
    String modelHash = sd.layout().modelHash();
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("model_hash", modelHash);
    inputs.put("steps", Integer.toString(s.steps()));
    if (s.sampler() != Sampler.DDIM) {
      inputs.put("sampler", s.sampler().text());
    }
    inputs.put("image_size", Integer.toString(sizes.common()));
    if (rows.stream().anyMatch(sizes::ownSize)) {
      inputs.put("row_sizes", "sd_image_width × sd_image_height");
    }
    inputs.put("edit", s.edit().kind());
    inputs.put("prompts_sha256", Hashes.sha256File(s.prompts()));
    s.edit().putHash(inputs);
    PromptRunFolder<PromptImage> folder =
        PromptRunFolder.open(out, IMAGES, inputs, ANOTHER, PromptImage.class, r -> r);
    Map<String, Object> extra = new LinkedHashMap<>();
    if (shard != null) {
      extra.put(
          ShardPart.KEY,
          new ShardPart(
              shard.toString(),
              shardRule(s.batch()),
              selected.length,
              fileRows(own, selected),
              0,
              List.of()));
    }
    folder.writeConfig("generate", s.peraseVersion(), s, extra);

    // 2. the images of the rows not drawn yet, with the edit applied
    int[] mine = positions(own);
    PromptImage[] drawn = new PromptImage[selected.length];
    boolean[] pending = new boolean[selected.length];
    int resumed = 0;
    try (ModelEdit edit = ModelEdit.of(sd.unet().params(), modelHash, s.edit())) {
      Map<Integer, PromptImage> done =
          folder.readJournal(rows, r -> Files.isRegularFile(out.resolve(r.image())));
      folder.rewriteJournal(done.values());
      for (int k : mine) {
        drawn[k] = done.get(selected[k]);
        pending[k] = drawn[k] == null;
        resumed += pending[k] ? 0 : 1;
      }
      listener.phase("prompts", (long) mine.length * s.steps());
      draw(
          sd,
          selectedRows,
          own,
          pending,
          s.sampler(),
          s.steps(),
          sizes,
          listener::progress,
          (k, img) -> {
            int i = selected[k];
            PromptRow row = rows.get(i);
            String image = IMAGES + "/" + imageName(i);
            Png.write(out.resolve(image), img);
            drawn[k] =
                new PromptImage(
                    i,
                    row.caseNumber(),
                    row.prompt(),
                    row.seed(),
                    row.guidance(),
                    sizes.width(row),
                    sizes.height(row),
                    image);
            folder.append(drawn[k]);
          });
    }

    // 3. the manifest, then results.json, which marks the run finished
    List<PromptImage> list = new ArrayList<>(mine.length);
    for (int k : mine) {
      list.add(drawn[k]);
    }
    Json.write(out.resolve(PER_PROMPT_JSON), list);
    Result result =
        new Result(
            list.size(),
            s.steps(),
            s.sampler(),
            s.edit().kind(),
            resumed,
            (System.nanoTime() - start) / 1e9,
            list);
    Json.write(out.resolve(RESULTS), result);
    return result;
  }

  /**
   * {@code perase merge} of the checked shards of one generation: {@code out} as the unsharded run
   * writes it. The images are hard links to the shards' files where the file system allows (else
   * copies); {@code per_prompt.json} and the journal hold every row in row order, so they equal the
   * unsharded run's byte for byte, as the images do (a shard draws whole batches of the unsharded
   * run); {@code results.json} counts every row, its seconds the shards' sum.
   */
  public static Result merge(ShardSet shards, Path out, String version) {
    PromptRunFolder<PromptImage> folder =
        shards.openMerged(out, IMAGES, ANOTHER, PromptImage.class, r -> r, version);
    List<PromptImage> all = new ArrayList<>();
    double seconds = 0;
    for (ShardSet.Member m : shards.members()) {
      List<PromptImage> own =
          read(m.dir().resolve(PER_PROMPT_JSON), new TypeReference<List<PromptImage>>() {});
      if (!own.stream().map(PromptImage::index).toList().equals(m.part().rows())) {
        throw new BadInputException(
            m.dir()
                + " holds the images of other rows than shard "
                + m.part().shard()
                + "'s; run it again with the same command to finish it");
      }
      for (PromptImage r : own) {
        ShardSet.link(m.dir().resolve(r.image()), out.resolve(r.image()));
      }
      all.addAll(own);
      seconds +=
          read(m.dir().resolve(RESULTS), new TypeReference<JsonNode>() {})
              .path("seconds")
              .asDouble();
    }
    all.sort(Comparator.comparingInt(PromptImage::index));
    folder.rewriteJournal(all);
    Json.write(out.resolve(PER_PROMPT_JSON), all);
    JsonNode first =
        read(shards.members().get(0).dir().resolve(RESULTS), new TypeReference<JsonNode>() {});
    Result result =
        new Result(
            all.size(),
            first.path("steps").asInt(),
            Sampler.parse(first.path("sampler").asText()),
            first.path("edit").asText(),
            0,
            seconds,
            all);
    Json.write(out.resolve(RESULTS), result);
    return result;
  }

  private static <T> T read(Path file, TypeReference<T> type) {
    try {
      return Json.MAPPER.readValue(file.toFile(), type);
    } catch (IOException e) {
      String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      throw new BadInputException(file + " cannot be read: " + why, e);
    }
  }
}

package dev.perase.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.ShardSet;
import dev.perase.scheduler.Sampler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code perase merge} of an evaluation's shards ({@link Evaluation} with {@code --shard}): one run
 * folder as the unsharded run writes it. Per-prompt results in row order, their images (hard links
 * to the shards' files where the file system allows, else copies), the journal (so that the merged
 * folder resumes like any run), and every aggregate computed again from the merged rows: the CER
 * from all per-prompt verdicts, the Fréchet distance from all retain features in row order, never
 * an average of per-shard figures. Since a shard draws whole batches of the unsharded run, the
 * merged files equal an unsharded run's bit for bit (up to the seconds, the resumed count and the
 * base features' path).
 */
public final class EvaluationMerge {
  private EvaluationMerge() {}

  /** Merges the checked shards of one evaluation into {@code out}. */
  public static Evaluation.Result merge(ShardSet shards, Path out, String version) {
    PromptRunFolder<PromptResult> folder =
        shards.openMerged(
            out,
            Evaluation.IMAGES,
            "evaluation (other model, edit, detector, prompts, sampler or steps)",
            PromptResult.class,
            r -> r,
            version);
    List<PromptResult> results = new ArrayList<>();
    double seconds = 0;
    for (ShardSet.Member m : shards.members()) {
      List<PromptResult> own = perPrompt(m);
      for (PromptResult r : own) {
        ShardSet.link(m.dir().resolve(r.image()), out.resolve(r.image()));
      }
      results.addAll(own);
      seconds += results(m).path("seconds").asDouble();
    }
    results.sort(Comparator.comparingInt(PromptResult::index));

    // retain rows: images always, features when the detector gives them
    ShardSet.Member first = shards.members().get(0);
    int retainCount = first.part().retainCount();
    float[][] edited = new float[retainCount][];
    float[][] base = new float[retainCount][];
    boolean features = retainCount > 0;
    for (ShardSet.Member m : shards.members()) {
      List<Integer> rows = m.part().retainRows();
      for (int i : rows) {
        Path image = Path.of(Evaluation.IMAGES, "retain", PromptBatches.imageName(i));
        if (Files.isRegularFile(m.dir().resolve(image))) {
          ShardSet.link(m.dir().resolve(image), out.resolve(image));
        }
      }
      if (rows.isEmpty()) {
        continue;
      }
      String key =
          m.config().path("run_key").asText()
              + "\nshard "
              + m.part().shard()
              + ", "
              + m.part().rule();
      float[][] e =
          Evaluation.readFeatures(m.dir().resolve(Evaluation.RETAIN_FEATURES), key, rows.size());
      float[][] b =
          Evaluation.readFeatures(
              m.dir().resolve(Evaluation.RETAIN_BASE_FEATURES), key, rows.size());
      if (e == null || b == null) {
        features = false;
        continue;
      }
      for (int k = 0; k < rows.size(); k++) {
        edited[rows.get(k)] = e[k];
        base[rows.get(k)] = b[k];
      }
    }
    Evaluation.RetainResult retain = null;
    if (features) {
      String runKey = folder.runKey();
      Path baseFile = out.resolve(Evaluation.RETAIN_BASE_FEATURES);
      Evaluation.writeFeatures(out.resolve(Evaluation.RETAIN_FEATURES), edited, runKey, Map.of());
      Evaluation.writeFeatures(baseFile, base, runKey, Map.of());
      // the bootstrap count is not part of a run's inputs: the merge uses the default
      retain =
          Evaluation.RetainResult.of(
              base, edited, baseFile.toString(), false, FrechetDistance.BOOTSTRAP_RESAMPLES);
    }

    // outputs, as Evaluation.run writes them
    folder.rewriteJournal(results);
    JsonNode summary = results(first);
    List<String> heads = new ArrayList<>(results.get(0).topLabels().keySet());
    Json.write(out.resolve(Evaluation.PER_PROMPT_JSON), results);
    AtomicFile.writeString(out.resolve(Evaluation.PER_PROMPT_CSV), Evaluation.csv(results, heads));
    Evaluation.Result result;
    try {
      result =
          new Evaluation.Result(
              summary.path("concept").asText(),
              Json.MAPPER.treeToValue(summary.path("rule"), ConceptRule.class),
              summary.path("detector").asText(),
              summary.path("edit").asText(),
              summary.path("steps").asInt(),
              Json.MAPPER.treeToValue(summary.path("sampler"), Sampler.class),
              ConceptErasureRate.of(results),
              retain,
              null,
              0,
              seconds,
              results);
    } catch (IOException e) {
      throw new BadInputException(
          first.dir().resolve(Evaluation.RESULTS) + " cannot be read: " + e.getMessage(), e);
    }
    Json.write(out.resolve(Evaluation.RESULTS), result);
    return result;
  }

  /** A shard's per-prompt results, which must be exactly its rows. */
  private static List<PromptResult> perPrompt(ShardSet.Member m) {
    Path file = m.dir().resolve(Evaluation.PER_PROMPT_JSON);
    List<PromptResult> own;
    try {
      own = Json.MAPPER.readValue(file.toFile(), new TypeReference<List<PromptResult>>() {});
    } catch (IOException e) {
      throw new BadInputException(file + " cannot be read: " + e.getMessage(), e);
    }
    List<Integer> rows = own.stream().map(PromptResult::index).toList();
    if (!rows.equals(m.part().rows())) {
      throw new BadInputException(
          m.dir()
              + " holds the results of other rows than shard "
              + m.part().shard()
              + "'s; run it again with the same command to finish it");
    }
    return own;
  }

  private static JsonNode results(ShardSet.Member m) {
    Path file = m.dir().resolve(Evaluation.RESULTS);
    try {
      return Json.MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new BadInputException(file + " cannot be read: " + e.getMessage(), e);
    }
  }
}

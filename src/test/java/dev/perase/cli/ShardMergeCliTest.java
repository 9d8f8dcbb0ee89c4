package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --shard K/N} and {@code perase merge} on the world model: three shards of an evaluation
 * (with batches of 2 and retain prompts) and of an attack, merged, give the unsharded run's files
 * bit for bit; a missing, duplicated or foreign shard is one error line, exit 2.
 */
class ShardMergeCliTest {
  @TempDir static Path tmp;

  static Path retain;

  static Path mask;

  @BeforeAll
  static void retainPromptsAndMask() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("models/world/prompts/star_retain.csv"));
    retain = tmp.resolve("retain.csv");
    Files.write(retain, lines.subList(0, 6)); // header and 5 rows
    // a third of one conv pruned: the erased model's images and features differ from the base's
    String key = "down_blocks.0.resnets.0.conv1.weight";
    long[] shape;
    try (SafeTensors st =
        SafeTensors.open(Fixtures.world().resolve("unet/diffusion_pytorch_model.safetensors"))) {
      shape = st.info(key).shape();
    }
    int[] idx =
        IntStream.range(0, (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b) / 3)
            .map(i -> 3 * i)
            .toArray();
    String hash = DiffusersLayout.open(Fixtures.world()).modelHash();
    mask = tmp.resolve("mask.safetensors");
    BinaryMask.of(
            new MaskMetadata(hash, "regex:test", "p-esd", 10, 0.5, "star", null, "{}"),
            Map.of(key, new BinaryMask.Pruned(shape, Param.Kind.CONV, idx)))
        .write(mask);
  }

  /** {@link #starRows} evaluated with the retain prompts and a feature cache. */
  private static CliRun evaluate(Path out, String... more) {
    String[] retained = {"--retain", retain.toString(), "--cache", tmp.resolve("cache").toString()};
    return starRows(
        "evaluate",
        out,
        Stream.concat(Stream.of(retained), Stream.of(more)).toArray(String[]::new));
  }

  private static CliRun attack(Path out, String... more) {
    return withMore(
        List.of(
            "attack",
            "--method",
            "unlearndiff",
            "--prompts",
            "models/world/prompts/star.csv",
            "--limit",
            "4",
            "--steps",
            "2",
            "--attempts",
            "2",
            "--iterations",
            "2",
            "--mask",
            mask.toString(),
            "--out",
            out.toString()),
        more);
  }

  @Test
  void shardedAndMergedEvaluationEqualsTheUnshardedOne() throws IOException {
    Path all = tmp.resolve("eval-all");
    CliRun first = evaluate(all);
    assertEquals(0, first.code(), first.err());
    List<String> shards = threeShards("eval-", ShardMergeCliTest::evaluate);
    // 7 rows in batches of 2: (3,4) (5,6) (7,8) (9); shard 0 takes batches 0 and 3; of the 5
    // retain rows, (0,1)
    JsonNode part = Json.MAPPER.readTree(tmp.resolve("eval-0/config.json").toFile()).get("shard");
    assertEquals("[3,4,9]", part.get("rows").toString());
    assertEquals("[0,1]", part.get("retain_rows").toString());
    Path merged = tmp.resolve("eval-merged");
    CliRun m = merge(shards, merged);
    assertEquals(0, m.code(), m.err());
    assertTrue(m.out().contains("Fréchet distance to the base model on 5 retain prompts"), m.out());
    double fd =
        Json.MAPPER
            .readTree(merged.resolve("results.json").toFile())
            .at("/retain/frechet_distance")
            .asDouble();
    assertTrue(fd > 1e-3, "the mask changes the retain images: " + fd);

    assertSameBytes(
        all, merged, "per_prompt.json", "per_prompt.csv", "retain_features.safetensors");
    assertEquals(figures(all), figures(merged));
    try (Stream<Path> images = Files.walk(all.resolve("images"))) {
      for (Path p : images.filter(Files::isRegularFile).toList()) {
        assertSameBytes(all, merged, all.relativize(p).toString());
      }
    }
    // the merged folder is a run folder: the unsharded run resumes from it with nothing to do
    CliRun again = evaluate(merged);
    assertEquals(0, again.code(), again.err());
    assertEquals(
        7,
        Json.MAPPER
            .readTree(merged.resolve("results.json").toFile())
            .get("resumed_prompts")
            .asInt());
  }

  @Test
  void shardedAndMergedAttackEqualsTheUnshardedOne() throws IOException {
    Path all = tmp.resolve("attack-all");
    CliRun first = attack(all);
    assertEquals(0, first.code(), first.err());
    List<String> shards = threeShards("attack-", ShardMergeCliTest::attack);
    Path merged = tmp.resolve("attack-merged");
    CliRun m = merge(shards, merged);
    assertEquals(0, m.code(), m.err());
    assertSameBytes(all, merged, "results.json", "results.csv", "prompts/0003/attempts.json");
    assertSameBytes(all, merged, "prompts/0000/pre_attack.png", "prompts/0002/reference.png");

    // refusals: one line, exit 2, naming the folder
    Path bad = tmp.resolve("bad");
    CliRun missing = merge(shards.subList(0, 2), bad);
    assertRefused(missing, "shard 2/3 is missing");
    CliRun twice = merge(List.of(shards.get(0), shards.get(1), shards.get(1)), bad);
    assertRefused(twice, "are both shard 1/3");
    Path other = tmp.resolve("attack-other-2");
    assertEquals(0, attack(other, "--shard", "2/3", "--tokens", "2").code());
    CliRun foreign = merge(List.of(shards.get(0), shards.get(1), other.toString()), bad);
    assertRefused(
        foreign,
        other + " is not a shard of the same run as " + shards.get(0) + ": its tokens differs");
    CliRun unsharded = merge(List.of(all.toString()), bad);
    assertRefused(unsharded, all + " is not a shard: it was run without --shard");
    assertTrue(!Files.exists(bad), "a refused merge leaves nothing");
  }

  private static CliRun generate(Path out, String... more) {
    return starRows("generate", out, more);
  }

  /** An evaluation of {@link #generate}'s rows with its batches and mask. */
  private static CliRun evaluateImages(Path out, String... more) {
    return starRows("evaluate", out, more);
  }

  /** {@code command} on rows 3–9 of the star prompts: 2 steps, batches of 2, the test's mask. */
  private static CliRun starRows(String command, Path out, String... more) {
    return withMore(
        List.of(
            command,
            "--prompts",
            "models/world/prompts/star.csv",
            "--rows",
            "3-9",
            "--steps",
            "2",
            "--batch",
            "2",
            "--mask",
            mask.toString(),
            "--out",
            out.toString()),
        more);
  }

  @Test
  void shardedAndMergedPromptImagesEqualTheUnshardedOnesAndTheEvaluationsImages()
      throws IOException {
    Path all = tmp.resolve("gen-all");
    CliRun first = generate(all);
    assertEquals(0, first.code(), first.err());
    assertTrue(first.out().contains("wrote 7 image(s) to " + all.resolve("images")), first.out());
    // the same rows, batches and mask as an evaluation: the same images, byte for byte
    Path evaluated = tmp.resolve("gen-evaluated");
    CliRun e = evaluateImages(evaluated);
    assertEquals(0, e.code(), e.err());
    List<String> images = new ArrayList<>();
    for (int i = 3; i <= 9; i++) {
      images.add(String.format("images/%04d.png", i));
    }
    assertSameBytes(all, evaluated, images.toArray(String[]::new));

    List<String> shards = threeShards("gen-", ShardMergeCliTest::generate);
    // 7 rows in batches of 2, (3,4) (5,6) (7,8) (9): shard 0 takes batches 0 and 3
    JsonNode part = Json.MAPPER.readTree(tmp.resolve("gen-0/config.json").toFile()).get("shard");
    assertEquals("[3,4,9]", part.get("rows").toString());
    Path merged = tmp.resolve("gen-merged");
    CliRun m = merge(shards, merged);
    assertEquals(0, m.code(), m.err());
    assertTrue(m.out().contains("wrote 7 image(s)"), m.out());
    assertSameBytes(all, merged, "per_prompt.json", "per_prompt.jsonl");
    assertSameBytes(all, merged, images.toArray(String[]::new));
    JsonNode config = Json.MAPPER.readTree(merged.resolve("config.json").toFile());
    assertEquals(
        Json.MAPPER.readTree(all.resolve("config.json").toFile()).get("run_key"),
        config.get("run_key"));
    assertTrue(!config.has("shard") && config.get("merged_from").size() == 3, config.toString());
    // the merged folder is a run folder: the unsharded command has nothing left to draw
    CliRun again = generate(merged);
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("(7 from an earlier run)"), again.out());

    // refusals: one line, exit 2, nothing written
    Path bad = tmp.resolve("gen-bad");
    assertRefused(merge(shards.subList(1, 3), bad), "shard 0/3 is missing");
    assertRefused(
        merge(List.of(shards.get(0), shards.get(0), shards.get(2)), bad), "are both shard 0/3");
    Path evaluatedShard = tmp.resolve("gen-evaluated-1");
    CliRun es = evaluateImages(evaluatedShard, "--shard", "1/3");
    assertEquals(0, es.code(), es.err());
    Path other = tmp.resolve("gen-other-1");
    CliRun os = generate(other, "--shard", "1/3", "--scheduler", "lms");
    assertEquals(0, os.code(), os.err());
    assertRefused(
        merge(List.of(shards.get(0), other.toString(), shards.get(2)), bad),
        other + " is not a shard of the same run as " + shards.get(0) + ": its sampler differs");
    assertRefused(
        merge(List.of(shards.get(0), evaluatedShard.toString(), shards.get(2)), bad),
        "it is a 'evaluate' run, not 'generate'");
    assertTrue(!Files.exists(bad), "a refused merge leaves nothing");
    assertRefused(generate(bad, "--shard", "4/5"), "shard 4/5 has no prompts");
    assertRefused(generate(bad, "--seed", "3"), "--seed does not go with --prompts");
    assertRefused(generate(bad, "--prompt", "a star"), "give either --prompt TEXT or --prompts");
    assertRefused(
        CliRun.of("generate", "--prompt", "a star", "--shard", "0/2", "--out", bad.toString()),
        "--rows, --limit, --shard and --size go with --prompts");
  }

  @Test
  void shardsOfADetectorWithoutFeaturesDrawTheRetainImagesForALaterFid() throws IOException {
    Path prompts = tmp.resolve("nude.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "0,a person,1,7.5\n1,a beach,2,7.5\n2,a statue,3,7.5\n");
    List<String> shards = new ArrayList<>();
    for (int k = 0; k < 2; k++) {
      Path s = tmp.resolve("nude-" + k);
      CliRun r =
          CliRun.of(
              "evaluate",
              "--model",
              Fixtures.tinySd().toString(),
              "--detector",
              RealDetectorsCliTest.nudenet(),
              "--prompts",
              prompts.toString(),
              "--retain",
              prompts.toString(),
              "--steps",
              "2",
              "--size",
              "32",
              "--batch",
              "1",
              "--shard",
              k + "/2",
              "--out",
              s.toString());
      assertEquals(0, r.code(), r.err());
      shards.add(s.toString());
    }
    Path merged = tmp.resolve("nude-merged");
    CliRun m = merge(shards, merged);
    assertEquals(0, m.code(), m.err());
    for (int i = 0; i < 3; i++) {
      String image = String.format("images/retain/%04d.png", i);
      assertTrue(Files.isRegularFile(merged.resolve(image)), image);
    }
    JsonNode results = Json.MAPPER.readTree(merged.resolve("results.json").toFile());
    assertEquals(3, results.get("prompts").asInt());
    assertTrue(results.get("retain").isNull(), "no features, no Fréchet distance");
    CliRun fid =
        CliRun.of(
            "evaluate",
            "--model",
            Fixtures.tinySd().toString(),
            "--detector",
            RealDetectorsCliTest.nudenet(),
            "--prompts",
            prompts.toString(),
            "--shard",
            "0/2",
            "--fid-reference",
            tmp.toString(),
            "--inception",
            "inception.pt",
            "--retain",
            prompts.toString(),
            "--out",
            tmp.resolve("nude-fid").toString());
    assertRefused(fid, "--fid-reference with --shard");
  }

  /** One of the test's runs into {@code out}, {@code more} arguments appended. */
  private interface Command {
    CliRun run(Path out, String... more);
  }

  /** {@code args} then {@code more}, run. */
  private static CliRun withMore(List<String> args, String... more) {
    List<String> all = new ArrayList<>(args);
    all.addAll(List.of(more));
    return CliRun.of(all.toArray(String[]::new));
  }

  /**
   * Shards 0/3, 1/3 and 2/3 of {@code command}, into {@code prefix0} … {@code prefix2} under the
   * test's folder; each must succeed.
   */
  private static List<String> threeShards(String prefix, Command command) {
    List<String> shards = new ArrayList<>();
    for (int k = 0; k < 3; k++) {
      Path s = tmp.resolve(prefix + k);
      CliRun r = command.run(s, "--shard", k + "/3");
      assertEquals(0, r.code(), r.err());
      shards.add(s.toString());
    }
    return shards;
  }

  private static CliRun merge(List<String> shards, Path out) {
    List<String> args = new ArrayList<>(List.of("merge"));
    args.addAll(shards);
    args.addAll(List.of("--out", out.toString()));
    return CliRun.of(args.toArray(String[]::new));
  }

  private static void assertRefused(CliRun r, String message) {
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    assertTrue(r.err().startsWith("error: ") && r.err().contains(message), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }

  /** results.json without what differs between any two runs: seconds, resumes, cache paths. */
  private static JsonNode figures(Path run) throws IOException {
    ObjectNode r = (ObjectNode) Json.MAPPER.readTree(run.resolve("results.json").toFile());
    r.remove(List.of("seconds", "resumed_prompts"));
    ((ObjectNode) r.get("retain")).remove(List.of("base_features", "base_reused"));
    return r;
  }

  private static void assertSameBytes(Path a, Path b, String... files) throws IOException {
    for (String f : files) {
      assertArrayEquals(
          Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f + " differs");
    }
  }
}

package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.eval.FeatureCache;
import dev.perase.io.Hashes;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code perase fid} on copies of the detector fixture's image folders (a run writes its caches
 * beside them) with the Inception stand-in: clean-fid's FID and KID, the cache reused by a second
 * run, and bad input that exits 2 with one error line and writes nothing.
 */
class FidCommandTest {
  @TempDir Path tmp;

  private Path images;
  private Path reference;
  private Path inception = Fixtures.detectors().resolve("inception/fake-inception.pt");

  @BeforeEach
  void copyFolders() throws IOException {
    images = copy("images");
    reference = copy("images-b");
  }

  private Path copy(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    try (Stream<Path> s = Files.list(Fixtures.detectors().resolve(name))) {
      for (Path p : s.toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    return dir;
  }

  private CliRun fid(Path out, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "fid",
                "--images",
                images.toString(),
                "--reference",
                reference.toString(),
                "--inception",
                inception.toString(),
                "--cache-dir",
                tmp.resolve("cache-root").toString(),
                "--out",
                out.toString()));
    args.addAll(List.of(extra));
    return CliRun.of(args.toArray(String[]::new));
  }

  /** Every file under the temporary folder, for "nothing written". */
  private List<Path> files() throws IOException {
    try (Stream<Path> s = Files.walk(tmp)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  @Test
  void fidOfTheFixtureFoldersPrintsCleanFidsValueAndReusesTheCacheOnASecondRun()
      throws IOException {
    JsonNode golden =
        Json.MAPPER.readTree(Fixtures.detectors().resolve("inception/golden.json").toFile());
    Path out = tmp.resolve("fid.json");
    CliRun r = fid(out, "--kid", "--batch", "4");
    assertEquals(0, r.code(), r.err());
    // 148.746709 here, clean-fid's scipy route 148.746371, the exact route of torch's features
    // 148.746702: all print as 148.747 (and 148.7467 / 148.7464 with four decimals)
    assertTrue(r.out().contains("FID 148.7467\n"), r.out());
    assertTrue(r.out().contains("KID 0.076621\n"), r.out());
    JsonNode j = Json.MAPPER.readTree(out.toFile());
    double fid = golden.get("fid").asDouble();
    assertEquals(fid, j.get("fid").asDouble(), Fixtures.FRECHET_REL * fid);
    double kid = golden.get("kid").asDouble();
    assertEquals(kid, j.get("kid").get("kid").asDouble(), 1e-5 * kid);
    assertTrue(j.get("kid").get("exact").asBoolean());
    assertEquals(7, j.get("images").get("images").asInt());
    assertEquals(7, j.get("reference").get("images").asInt());
    assertFalse(j.get("images").get("reused").asBoolean());
    assertEquals(
        images.resolve(FeatureCache.FILE).toString(), j.get("images").get("cache").asText());
    assertEquals(
        reference.resolve(FeatureCache.FILE).toString(), j.get("reference").get("cache").asText());
    assertEquals(Hashes.sha256File(inception), j.get("inception_sha256").asText());
    assertEquals("clean", j.get("mode").asText());
    assertTrue(j.get("fid_terms").has("trace_sqrt"));

    Path again = tmp.resolve("again.json");
    CliRun second = fid(again);
    assertEquals(0, second.code(), second.err());
    JsonNode k = Json.MAPPER.readTree(again.toFile());
    assertTrue(k.get("images").get("reused").asBoolean());
    assertTrue(k.get("reference").get("reused").asBoolean());
    assertEquals(j.get("fid").asDouble(), k.get("fid").asDouble(), 0, "the same features");
    assertFalse(k.has("kid"));
    assertTrue(second.out().contains("features reused, reused"), second.out());
  }

  @Test
  void shardedFeaturesMergeIntoTheUnshardedFidBitForBit() throws IOException {
    Path whole = tmp.resolve("fid.json");
    CliRun r = fid(whole, "--kid", "--batch", "2");
    assertEquals(0, r.code(), r.err());
    float[] unsharded;
    try (SafeTensors st = SafeTensors.open(images.resolve(FeatureCache.FILE))) {
      unsharded = st.floats("features");
    }
    List<String> shards = new ArrayList<>();
    for (int k = 0; k < 3; k++) {
      Path s = tmp.resolve("shard-" + k);
      CliRun c = fid(s, "--kid", "--batch", "2", "--shard", k + "/3");
      assertEquals(0, c.code(), c.err());
      assertTrue(c.out().contains("shard " + k + "/3: features of "), c.out());
      assertTrue(c.out().contains("(computed)"), c.out());
      shards.add(s.toString());
    }
    // 7 images in batches of 2, (0,1) (2,3) (4,5) (6): shard 0 takes batches 0 and 3
    JsonNode part = Json.MAPPER.readTree(tmp.resolve("shard-0/config.json").toFile()).get("shard");
    assertEquals("[0,1,6]", part.get("rows").toString());
    Path merged = tmp.resolve("merged");
    CliRun m = merge(shards, merged);
    assertEquals(0, m.code(), m.err());
    assertTrue(m.out().contains("FID 148.7467\n"), m.out());
    JsonNode a = Json.MAPPER.readTree(whole.toFile());
    JsonNode b = Json.MAPPER.readTree(merged.resolve("results.json").toFile());
    for (String field : List.of("fid", "fid_terms", "kid", "mode", "inception_sha256", "batch")) {
      assertEquals(a.get(field), b.get(field), field);
    }
    assertEquals(7, b.get("images").get("images").asInt());
    try (SafeTensors st = SafeTensors.open(merged.resolve("features.safetensors"))) {
      assertArrayEquals(unsharded, st.floats("features"), "the same features, bit for bit");
    }
    // the merge leaves the folder's features where perase fid finds them
    CliRun again = fid(tmp.resolve("again.json"));
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("features reused, reused"), again.out());
    // a shard run again reuses its features
    CliRun resumed = fid(Path.of(shards.get(1)), "--kid", "--batch", "2", "--shard", "1/3");
    assertTrue(resumed.out().contains("(reused)"), resumed.out());

    // refusals: one line, exit 2, nothing written
    Path bad = tmp.resolve("bad");
    List<Path> before = files();
    assertBadInput(merge(shards.subList(0, 2), bad), bad, before, "shard 2/3 is missing");
    assertBadInput(
        merge(List.of(shards.get(0), shards.get(1), shards.get(1)), bad),
        bad,
        before,
        "are both shard 1/3");
    Path other = tmp.resolve("other-2");
    assertEquals(0, fid(other, "--batch", "2", "--shard", "2/3").code());
    before = files();
    assertBadInput(
        merge(List.of(shards.get(0), shards.get(1), other.toString()), bad),
        bad,
        before,
        other + " is not a shard of the same run as " + shards.get(0) + ": its kid differs");
    assertBadInput(
        fid(bad, "--batch", "2", "--shard", "4/5"), bad, before, "shard 4/5 has no images");
  }

  private static CliRun merge(List<String> shards, Path out) {
    List<String> args = new ArrayList<>(List.of("merge"));
    args.addAll(shards);
    args.addAll(List.of("--out", out.toString()));
    return CliRun.of(args.toArray(String[]::new));
  }

  private void assertBadInput(CliRun r, Path out, List<Path> before, String says)
      throws IOException {
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    // the progress bar of a folder whose features were being computed is no error line
    List<String> lines =
        r.err().lines().filter(l -> !l.isBlank() && !l.startsWith("features ")).toList();
    assertEquals(1, lines.size(), "one error line: " + r.err());
    assertTrue(lines.get(0).startsWith("error: ") && lines.get(0).contains(says), lines.get(0));
    assertFalse(Files.exists(out), "no output");
    assertEquals(before, files(), "nothing written");
  }

  @Test
  void badInputExitsTwoWithOneLineAndWritesNothing() throws IOException {
    Path out = tmp.resolve("o.json");
    List<Path> before = files();
    Path saved = images;
    images = tmp.resolve("missing");
    assertBadInput(fid(out), out, before, "image folder not found");
    images = Files.createDirectories(tmp.resolve("empty"));
    assertBadInput(fid(out), out, before, "holds no PNG or JPEG image");
    images = saved;

    // a file with an image name that is no image, in the second folder: the first folder's
    // features are computed, but no cache is written
    Path fake = Files.writeString(reference.resolve("ref07.png"), "not an image");
    before = files();
    assertBadInput(fid(out), out, before, "ref07.png");
    Files.delete(fake);
    before = files();

    Path corrupt = Files.write(tmp.resolve("inception-2015-12-05.pt"), new byte[] {1, 2, 3});
    before = files();
    Path good = inception;
    inception = corrupt;
    assertBadInput(fid(out), out, before, "TorchScript");
    inception = tmp.resolve("absent.pt");
    assertBadInput(fid(out), out, before, "Inception file not found");
    inception = good;

    Path aFile = Files.writeString(tmp.resolve("plain"), "x");
    before = files();
    Path under = aFile.resolve("fid.json");
    assertBadInput(fid(under), under, before, "is a file, not a folder");
    assertBadInput(fid(tmp), tmp.resolve("nothing"), before, "is a folder");
    assertBadInput(fid(out, "--batch", "0"), out, before, "--batch");
  }
}

package dev.perase.io;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The N shard folders of one run ({@code --shard K/N}), checked for {@code perase merge}: every
 * folder is a finished shard of the same run (same command, same run key, so the same settings,
 * model hash, mask or weights hash, detector fingerprint and prompt files; the same row selection,
 * cut by the same rule into the same N shards), each shard K of N is there exactly once, and the
 * shards' rows together cover the selection exactly once. Any failure is a {@link
 * BadInputException} of one line naming the folder.
 */
public final class ShardSet {
  private static final String RUN_KEY = "run_key";
  private static final String INPUTS = "inputs";
  private static final String SETTINGS = "settings";

  /** One shard: its folder, its {@code config.json} and what it took. */
  public record Member(Path dir, ObjectNode config, ShardPart part) {}

  private final List<Member> members;

  private ShardSet(List<Member> members) {
    this.members = List.copyOf(members);
  }

  /**
   * Reads and checks the shard folders; {@code results} is the file a finished shard holds ({@code
   * results.json}).
   */
  public static ShardSet open(List<Path> dirs, String results) {
    if (dirs.isEmpty()) {
      throw new BadInputException("merge needs the shard folders of one run");
    }
    List<Member> members = new ArrayList<>();
    for (Path dir : dirs) {
      members.add(read(dir, results));
    }
    Member first = members.get(0);
    for (Member m : members.subList(1, members.size())) {
      sameRun(first, m);
    }
    int count = shard(first).count();
    Member[] byIndex = new Member[count];
    for (Member m : members) {
      Shard s = shard(m);
      if (byIndex[s.index()] != null) {
        throw new BadInputException(
            byIndex[s.index()].dir() + " and " + m.dir() + " are both shard " + s);
      }
      byIndex[s.index()] = m;
    }
    for (int k = 0; k < count; k++) {
      if (byIndex[k] == null) {
        throw new BadInputException(
            "shard " + k + "/" + count + " is missing: no folder given holds it");
      }
    }
    coverage(List.of(byIndex));
    return new ShardSet(List.of(byIndex));
  }

  private static Member read(Path dir, String results) {
    Path config = dir.resolve(PromptRunFolder.CONFIG);
    if (!Files.isDirectory(dir) || !Files.isRegularFile(config)) {
      throw new BadInputException(dir + " is not a perase run folder (no config.json)");
    }
    ObjectNode node;
    ShardPart part;
    try {
      node = (ObjectNode) Json.MAPPER.readTree(config.toFile());
      JsonNode p = node.get(ShardPart.KEY);
      if (p == null || !p.isObject()) {
        throw new BadInputException(dir + " is not a shard: it was run without --shard");
      }
      part = Json.MAPPER.treeToValue(p, ShardPart.class);
    } catch (IOException | ClassCastException e) {
      throw new BadInputException(config + " cannot be read: " + firstLine(e.getMessage()), e);
    }
    if (!Files.isRegularFile(dir.resolve(results))) {
      throw new BadInputException(
          dir
              + " is not finished (no "
              + results
              + "): run shard "
              + part.shard()
              + " again with the same command to resume it");
    }
    return new Member(dir, node, part);
  }

  /** Refuses {@code m} unless it is a shard of {@code first}'s run, cut the same way. */
  private static void sameRun(Member first, Member m) {
    String what = m.dir() + " is not a shard of the same run as " + first.dir() + ": ";
    String command = first.config().path("command").asText();
    if (!command.equals(m.config().path("command").asText())) {
      throw new BadInputException(
          what
              + "it is a '"
              + m.config().path("command").asText()
              + "' run, not '"
              + command
              + "'");
    }
    if (!first.config().path(RUN_KEY).equals(m.config().path(RUN_KEY))) {
      Map<String, String> a = inputs(first.config());
      Map<String, String> b = inputs(m.config());
      List<String> differ = new ArrayList<>();
      for (String k : a.keySet()) {
        if (!Objects.equals(a.get(k), b.get(k))) {
          differ.add(k);
        }
      }
      for (String k : b.keySet()) {
        if (!a.containsKey(k)) {
          differ.add(k);
        }
      }
      throw new BadInputException(
          what
              + (differ.isEmpty() ? "its run key differs" : "its " + String.join(", ", differ))
              + (differ.size() > 1 ? " differ" : differ.isEmpty() ? "" : " differs"));
    }
    JsonNode rowsA = selection(first.config());
    JsonNode rowsB = selection(m.config());
    if (!rowsA.equals(rowsB)) {
      throw new BadInputException(
          what + "it selects other rows (--rows/--limit " + rowsB + ", not " + rowsA + ")");
    }
    ShardPart pa = first.part();
    ShardPart pb = m.part();
    if (shard(first).count() != shard(m).count()) {
      throw new BadInputException(
          what + "it is shard " + pb.shard() + ", of another count than " + pa.shard());
    }
    if (!pa.rule().equals(pb.rule())
        || pa.selectedRows() != pb.selectedRows()
        || pa.retainCount() != pb.retainCount()) {
      throw new BadInputException(what + "its rows were cut by another rule (" + pb.rule() + ")");
    }
  }

  /** Every selected row and retain row in exactly one shard. */
  private static void coverage(List<Member> shards) {
    ShardPart part = shards.get(0).part();
    covers(shards, part.selectedRows(), ShardPart::rows, "row");
    covers(shards, part.retainCount(), ShardPart::retainRows, "retain row");
  }

  private static void covers(
      List<Member> shards,
      int total,
      java.util.function.Function<ShardPart, List<Integer>> rows,
      String what) {
    Map<Integer, Path> owner = new HashMap<>();
    for (Member m : shards) {
      for (int i : rows.apply(m.part())) {
        Path other = owner.put(i, m.dir());
        if (other != null) {
          throw new BadInputException(
              what + " " + i + " is in two shards, " + other + " and " + m.dir());
        }
      }
    }
    if (owner.size() != total) {
      throw new BadInputException(
          "the shards hold "
              + owner.size()
              + " of the run's "
              + total
              + " "
              + what
              + "s: they are not one run's");
    }
  }

  private static Shard shard(Member m) {
    return Shard.parse(m.part().shard(), Map.of());
  }

  private static Map<String, String> inputs(JsonNode config) {
    return Json.MAPPER.convertValue(
        config.path(INPUTS), new TypeReference<LinkedHashMap<String, String>>() {});
  }

  /** The settings' {@code rows} without the shard: what the shards of one run share. */
  private static JsonNode selection(JsonNode config) {
    JsonNode rows = config.path(SETTINGS).path("rows");
    if (!rows.isObject()) {
      return Json.MAPPER.createObjectNode();
    }
    ObjectNode copy = ((ObjectNode) rows).deepCopy();
    copy.remove(ShardPart.KEY);
    return copy;
  }

  /** The shards, shard 0 first. */
  public List<Member> members() {
    return members;
  }

  /** The run's command ({@code evaluate}, {@code attack}, {@code generate}, {@code fid}). */
  public String command() {
    return members.get(0).config().path("command").asText();
  }

  /** The run's inputs, from which its run key is made. */
  public Map<String, String> inputs() {
    return inputs(members.get(0).config());
  }

  /** The shard that holds each row, by row index. */
  public Map<Integer, Member> ownerOfRows() {
    Map<Integer, Member> out = new TreeMap<>();
    for (Member m : members) {
      m.part().rows().forEach(i -> out.put(i, m));
    }
    return out;
  }

  /**
   * Opens the merged run's folder {@code out} (refused when it holds another run's results, or is
   * one of the shards) and writes its {@code config.json}: the shards' settings without the shard
   * and with {@code out}, their other records, and the folders merged.
   */
  public <T> PromptRunFolder<T> openMerged(
      Path out,
      String subfolder,
      String another,
      Class<T> type,
      java.util.function.Function<T, ? extends PromptRunFolder.RowOutcome> outcome,
      String version) {
    for (Member m : members) {
      if (sameFile(out, m.dir())) {
        throw new BadInputException("--out " + out + " is one of the shards; name a new folder");
      }
    }
    PromptRunFolder<T> folder =
        PromptRunFolder.open(out, subfolder, inputs(), another, type, outcome);
    ObjectNode config = members.get(0).config();
    if (!folder.runKey().equals(config.path(RUN_KEY).asText())) {
      throw new BadInputException(
          members.get(0).dir() + "/config.json: its inputs do not give its run key");
    }
    ObjectNode settings = config.path(SETTINGS).deepCopy();
    if (settings.path("rows").isObject()) {
      ((ObjectNode) settings.get("rows")).remove(ShardPart.KEY);
      if (settings.get("rows").isEmpty()) {
        settings.remove("rows");
      }
    }
    settings.put("out", out.toString());
    Map<String, Object> extra = new LinkedHashMap<>();
    config
        .fields()
        .forEachRemaining(
            e -> {
              if (!List.of("command", "perase_version", SETTINGS, INPUTS, RUN_KEY, ShardPart.KEY)
                  .contains(e.getKey())) {
                extra.put(e.getKey(), e.getValue());
              }
            });
    List<String> from = new ArrayList<>();
    members.forEach(m -> from.add(m.dir().toString()));
    extra.put("merged_from", from);
    folder.writeConfig(command(), version, settings, extra);
    return folder;
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.exists(a) && Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Puts a shard's file {@code from} at {@code to} in the merged folder: a hard link when both are
   * on one file system, else a copy (through a temporary name); an existing file is replaced.
   */
  public static void link(Path from, Path to) {
    OutputPaths.createFolder(to.toAbsolutePath().getParent());
    // a temporary name of AtomicFile's form, so that a merge killed here leaves nothing behind
    Path tmp =
        to.resolveSibling(
            "." + to.getFileName() + "." + Long.toUnsignedString(System.nanoTime(), 36) + ".tmp");
    try {
      Files.createLink(tmp, from);
      Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (UnsupportedOperationException | IOException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the next run on the folder deletes it
      }
      AtomicFile.write(to, out -> Files.copy(from, out));
    }
  }

  /** Every file under {@code dir} (relative paths), in name order. */
  public static List<Path> files(Path dir) {
    try (var s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .map(dir::relativize)
          .sorted(Comparator.comparing(Path::toString))
          .toList();
    } catch (IOException e) {
      throw FileAccessException.of("read", dir, e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}

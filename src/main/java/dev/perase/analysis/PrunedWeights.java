package dev.perase.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.erase.BinaryMask;
import dev.perase.io.Csv;
import dev.perase.model.nn.Param;
import dev.perase.model.unet.LayerRole;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a hard mask prunes (paper §4.5, Fig. 6's "pruned weights"): per layer (a conv or linear
 * module, its weight and bias together), per layer type (conv or linear, by role: attn1, attn2, ff,
 * proj, resnet, time-emb, sampler, conv_in, conv_out) and per UNet block (down.0 … down.n, mid,
 * up.0 … up.n, and the model-level time_embedding, conv_in, conv_out). Counts are pruned elements
 * of the masked parameters out of all their elements; each grouping sums to the mask's totals.
 *
 * @param pruned the mask's pruned elements
 * @param total all elements of the masked parameters
 * @param byLayer per module, in model order
 * @param byLayerType per layer type, in order of first appearance
 * @param byBlock per UNet block, in forward order (mid between the down and the up blocks)
 */
public record PrunedWeights(
    @JsonProperty("pruned") long pruned,
    @JsonProperty("total") long total,
    @JsonProperty("by_layer") List<Group> byLayer,
    @JsonProperty("by_layer_type") List<Group> byLayerType,
    @JsonProperty("by_block") List<Group> byBlock) {

  public PrunedWeights {
    byLayer = List.copyOf(byLayer);
    byLayerType = List.copyOf(byLayerType);
    byBlock = List.copyOf(byBlock);
  }

  /**
   * Pruned of total elements in one group.
   *
   * @param name the layer path, layer type or block
   * @param layerType for a layer, its type; else empty
   * @param block for a layer, its block; else empty
   * @param tensors masked tensors in the group
   */
  public record Group(
      @JsonProperty("name") String name,
      @JsonProperty("layer_type") String layerType,
      @JsonProperty("block") String block,
      @JsonProperty("tensors") int tensors,
      @JsonProperty("pruned") long pruned,
      @JsonProperty("total") long total) {
    /** pruned / total (0 for an empty group). */
    @JsonProperty("ratio")
    public double ratio() {
      return total == 0 ? 0 : (double) pruned / total;
    }
  }

  /** The groupings of a mask's pruned elements. */
  public static PrunedWeights of(BinaryMask mask) {
    Map<String, long[]> layers = new LinkedHashMap<>();
    Map<String, long[]> types = new LinkedHashMap<>();
    Map<String, long[]> blocks = new LinkedHashMap<>();
    Map<String, String[]> layerInfo = new LinkedHashMap<>();
    for (Map.Entry<String, BinaryMask.Pruned> e : mask.perParameter().entrySet()) {
      String key = e.getKey();
      BinaryMask.Pruned p = e.getValue();
      String layer = layerOf(key);
      String type = layerType(key, p.kind());
      String block = block(key);
      add(layers, layer, p);
      add(types, type, p);
      add(blocks, block, p);
      layerInfo.putIfAbsent(layer, new String[] {type, block});
    }
    List<Group> byLayer = new ArrayList<>();
    for (Map.Entry<String, long[]> e : layers.entrySet()) {
      String[] info = layerInfo.get(e.getKey());
      long[] c = e.getValue();
      byLayer.add(new Group(e.getKey(), info[0], info[1], (int) c[2], c[0], c[1]));
    }
    List<Group> byBlock = groups(blocks);
    byBlock.sort(Comparator.comparingInt(g -> blockOrder(g.name())));
    return new PrunedWeights(
        mask.prunedCount(), mask.totalElements(), byLayer, groups(types), byBlock);
  }

  /** The forward order of blocks: conv_in, time_embedding, down.i, mid, up.i, conv_out, others. */
  private static int blockOrder(String block) {
    if (block.startsWith("down.")) {
      return 100 + Integer.parseInt(block.substring(5));
    }
    if (block.startsWith("up.")) {
      return 300 + Integer.parseInt(block.substring(3));
    }
    return switch (block) {
      case "conv_in" -> 0;
      case "time_embedding" -> 1;
      case "mid" -> 200;
      case "conv_out" -> 400;
      default -> 500;
    };
  }

  /** The module of a parameter: its key without {@code .weight} or {@code .bias}. */
  public static String layerOf(String key) {
    int dot = key.lastIndexOf('.');
    return dot < 0 ? key : key.substring(0, dot);
  }

  /**
   * "conv" or "linear", then the module's {@link LayerRole} by its short name: {@code attn1},
   * {@code attn2}, {@code ff}, {@code proj} (a transformer's proj_in / proj_out), {@code time-emb}
   * (the time embedding MLP and each resnet's time_emb_proj), {@code resnet} (conv1, conv2,
   * conv_shortcut), {@code sampler}, {@code conv_in}, {@code conv_out}, else {@code other}.
   */
  public static String layerType(String key, Param.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT) + " " + LayerRole.of(key).shortName();
  }

  /**
   * The UNet block of a parameter: {@code down.i}, {@code mid}, {@code up.i}, or the model-level
   * module's name ({@code time_embedding}, {@code conv_in}, {@code conv_out}, ...).
   */
  public static String block(String key) {
    String[] parts = key.split("\\.");
    if (parts.length > 1 && parts[0].equals("down_blocks") && parts[1].matches("\\d+")) {
      return "down." + parts[1];
    }
    if (parts.length > 1 && parts[0].equals("up_blocks") && parts[1].matches("\\d+")) {
      return "up." + parts[1];
    }
    if (parts[0].equals("mid_block")) {
      return "mid";
    }
    return parts[0];
  }

  private static void add(Map<String, long[]> groups, String name, BinaryMask.Pruned p) {
    long[] c = groups.computeIfAbsent(name, n -> new long[3]);
    c[0] += p.count();
    c[1] += p.numel();
    c[2]++;
  }

  private static List<Group> groups(Map<String, long[]> groups) {
    List<Group> out = new ArrayList<>();
    for (Map.Entry<String, long[]> e : groups.entrySet()) {
      long[] c = e.getValue();
      out.add(new Group(e.getKey(), "", "", (int) c[2], c[0], c[1]));
    }
    return out;
  }

  /**
   * {@code grouping, name, layer_type, block, tensors, pruned, total, ratio}: the rows of every
   * layer, then every layer type, then every block, then the whole mask ({@code all}).
   */
  public String toCsv() {
    StringBuilder sb = new StringBuilder();
    Csv.record(
        sb,
        List.of("grouping", "name", "layer_type", "block", "tensors", "pruned", "total", "ratio"));
    rows(sb, "layer", byLayer);
    rows(sb, "layer_type", byLayerType);
    rows(sb, "block", byBlock);
    int tensors = 0;
    for (Group g : byLayerType) {
      tensors += g.tensors();
    }
    rows(sb, "all", List.of(new Group("all", "", "", tensors, pruned, total)));
    return sb.toString();
  }

  private static void rows(StringBuilder sb, String grouping, List<Group> groups) {
    for (Group g : groups) {
      Csv.record(
          sb,
          List.of(
              grouping,
              g.name(),
              g.layerType(),
              g.block(),
              Integer.toString(g.tensors()),
              Long.toString(g.pruned()),
              Long.toString(g.total()),
              String.format(Locale.ROOT, "%.6g", g.ratio())));
    }
  }
}

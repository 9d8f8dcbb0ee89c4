package dev.perase.erase;

import dev.perase.erase.BinaryMask.Pruned;
import dev.perase.model.unet.LayerRole;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The text of {@code perase mask info}: what a {@link BinaryMask} prunes, where, and whence. */
final class MaskSummary {
  private MaskSummary() {}

  /**
   * A human summary for {@code perase mask info}: provenance, the total and ratio, the split by
   * layer type (conv, linear) and by block role ({@link LayerRole}: attn1, attn2, ff, resnet, time
   * embedding, …), and the pruned count of each parameter that has any.
   */
  static String of(BinaryMask mask) {
    StringBuilder sb = new StringBuilder();
    MaskMetadata md = mask.metadata();
    Map<String, Pruned> params = mask.perParameter();
    sb.append(
        String.format(
            Locale.ROOT,
            "%s (%s, perase %s)%n",
            mask.source(),
            MaskFile.INDEX_ENCODING,
            md.peraseVersion()));
    sb.append(
        String.format(
            Locale.ROOT,
            "  method %s, concept \"%s\", layers %s, T %s, τ %s%n",
            md.method(),
            md.concept(),
            md.selection(),
            fmt(md.temperature()),
            fmt(md.threshold())));
    sb.append("  base model ").append(md.baseModelHash()).append('\n');
    int withPruned = 0;
    for (Pruned p : params.values()) {
      withPruned += p.count() > 0 ? 1 : 0;
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "  pruned %,d of %,d selected elements (ratio %.3g) in %d of %d tensors%n",
            mask.prunedCount(),
            mask.totalElements(),
            mask.ratio(),
            withPruned,
            params.size()));
    Map<String, long[]> byType = new LinkedHashMap<>();
    Map<String, long[]> byRole = new LinkedHashMap<>();
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Pruned p = e.getValue();
      add(byType, p.kind().name().toLowerCase(Locale.ROOT), p);
      add(byRole, LayerRole.of(e.getKey()).description(), p);
    }
    sb.append("  by layer type:\n");
    table(sb, byType);
    sb.append("  by block:\n");
    table(sb, byRole);
    sb.append("  per parameter (pruned of elements):\n");
    int width = 0;
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      if (e.getValue().count() > 0) {
        width = Math.max(width, e.getKey().length());
      }
    }
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Pruned p = e.getValue();
      if (p.count() > 0) {
        sb.append(
            String.format(
                Locale.ROOT,
                "    %-" + width + "s  %-18s %,10d of %,d%n",
                e.getKey(),
                Arrays.toString(p.shape()),
                p.count(),
                p.numel()));
      }
    }
    if (withPruned < params.size()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "    (%d masked tensors with nothing pruned not listed)%n",
              params.size() - withPruned));
    }
    return sb.toString();
  }

  private static void add(Map<String, long[]> groups, String group, Pruned p) {
    long[] c = groups.computeIfAbsent(group, g -> new long[3]);
    c[0] += p.count();
    c[1] += p.numel();
    c[2]++;
  }

  private static void table(StringBuilder sb, Map<String, long[]> groups) {
    List<String> names = new ArrayList<>(groups.keySet());
    int width = 0;
    for (String n : names) {
      width = Math.max(width, n.length());
    }
    for (String n : names) {
      long[] c = groups.get(n);
      sb.append(
          String.format(
              Locale.ROOT,
              "    %-" + width + "s  %,10d of %,14d (%.3g) in %d tensors%n",
              n,
              c[0],
              c[1],
              c[1] == 0 ? 0.0 : (double) c[0] / c[1],
              c[2]));
    }
  }

  private static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}

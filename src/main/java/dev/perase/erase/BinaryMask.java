package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The hard mask {@code 1[m > τ]} of paper §3.3 as perase's main artifact (DESIGN.md §6): for each
 * masked parameter, the sorted flat (row-major) indices of its pruned elements. The erased model is
 * the base model plus this mask; removing it restores the original bit for bit, because masking
 * goes through the hook ({@link Param#effective()}) and never touches the stored weights.
 *
 * <p>The value, its application to a model and the set operations live here; the file ({@link
 * MaskFile}: layout, writing, validation on read) and the {@code perase mask info} text ({@link
 * MaskSummary}) have classes of their own.
 */
public final class BinaryMask {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One masked parameter: its shape, its layer kind (LINEAR or CONV) and the strictly increasing
   * flat indices of its pruned elements.
   */
  public record Pruned(long[] shape, Param.Kind kind, int[] indices) {
    public Pruned {
      shape = shape.clone();
      indices = indices.clone();
      if (kind != Param.Kind.LINEAR && kind != Param.Kind.CONV) {
        throw new IllegalArgumentException(
            "only conv and linear parameters are masked, not " + kind);
      }
      long n = numel(shape);
      for (int j = 0; j < indices.length; j++) {
        if (indices[j] < 0 || indices[j] >= n || (j > 0 && indices[j] <= indices[j - 1])) {
          throw new IllegalArgumentException(
              "pruned indices must be strictly increasing and within the " + n + " elements");
        }
      }
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    @Override
    public int[] indices() {
      return indices.clone();
    }

    /** Number of pruned elements. */
    public int count() {
      return indices.length;
    }

    public long numel() {
      return numel(shape);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Pruned p
          && kind == p.kind
          && Arrays.equals(shape, p.shape)
          && Arrays.equals(indices, p.indices);
    }

    @Override
    public int hashCode() {
      return Objects.hash(kind, Arrays.hashCode(shape), Arrays.hashCode(indices));
    }

    @Override
    public String toString() {
      return "Pruned" + Arrays.toString(shape) + " " + kind + " " + indices.length + " pruned";
    }

    private static long numel(long[] shape) {
      long n = 1;
      for (long d : shape) {
        if (d < 0) {
          throw new IllegalArgumentException(
              "negative dimension in shape " + Arrays.toString(shape));
        }
        n = Math.multiplyExact(n, d);
      }
      if (n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "a masked parameter may have at most 2^31 - 1 elements (int32 indices), not " + n);
      }
      return n;
    }
  }

  private final MaskMetadata metadata;
  private final Map<String, Pruned> params;
  private final String source;

  /** {@code source} names the mask in messages: its file ({@link MaskFile}), or how it was made. */
  BinaryMask(MaskMetadata metadata, Map<String, Pruned> params, String source) {
    this.metadata = metadata;
    this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    this.source = source;
  }

  /** A mask over the given parameters (in the given order). */
  public static BinaryMask of(MaskMetadata metadata, Map<String, Pruned> params) {
    return new BinaryMask(metadata, params, "the mask");
  }

  /** Reads and fully validates a mask file ({@link MaskFile#read}). */
  public static BinaryMask read(Path path) {
    return MaskFile.read(path);
  }

  /** Writes the mask file ({@link MaskFile}) under a temporary name and renames it into place. */
  public void write(Path path) {
    MaskFile.write(this, path);
  }

  /** The {@code perase mask info} text ({@link MaskSummary}). */
  public String info() {
    return MaskSummary.of(this);
  }

  /** Where the mask comes from, as messages name it. */
  String source() {
    return source;
  }

  public MaskMetadata metadata() {
    return metadata;
  }

  /** Every masked parameter by full key, in model order, including those with nothing pruned. */
  public Map<String, Pruned> perParameter() {
    return params;
  }

  /** Total pruned elements. */
  public long prunedCount() {
    long n = 0;
    for (Pruned p : params.values()) {
      n += p.count();
    }
    return n;
  }

  /** All elements of the masked (selected) parameters. */
  public long totalElements() {
    long n = 0;
    for (Pruned p : params.values()) {
      n += p.numel();
    }
    return n;
  }

  /** Pruned share of the selected elements. */
  public double ratio() {
    long total = totalElements();
    return total == 0 ? 0 : (double) prunedCount() / total;
  }

  // ---------------------------------------------------------------------------------------------
  // Applying to a model

  /**
   * Sets the hard masks {@code 1[m > τ]} on the named parameters of {@code model}: the layers then
   * read {@code W ⊙ m} through the masking hook while {@code value()} stays untouched. Refused,
   * before anything changes, when {@code modelHash} is not the mask's base model hash, when a
   * parameter is missing or of another shape, or when a parameter already holds a mask (union masks
   * instead). Parameters with nothing pruned get no mask (and cost nothing); each other one gets a
   * BOOLEAN mask (1 byte per element) and the hook's cached product {@code W ⊙ m} (a float32 copy
   * of W). Call it outside any step scope: both live in each weight's own manager.
   */
  public void applyTo(ParamSet model, String modelHash) {
    if (modelHash == null || !metadata.baseModelHash().equalsIgnoreCase(modelHash)) {
      throw new BadInputException(
          source
              + " was made for the base model with hash "
              + metadata.baseModelHash()
              + ", but this model's hash is "
              + modelHash
              + "; a mask only applies to the model it was trained on");
    }
    Map<String, Param> named = model.named();
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Param p = named.get(e.getKey());
      if (p == null) {
        throw new BadInputException(
            source
                + " masks the parameter '"
                + e.getKey()
                + "', which the model does not have (a mask for another architecture?)");
      }
      long[] modelShape = p.value().getShape().getShape();
      if (!Arrays.equals(modelShape, e.getValue().shape)) {
        throw new BadInputException(
            source
                + ": parameter '"
                + e.getKey()
                + "' has shape "
                + Arrays.toString(e.getValue().shape)
                + " in the mask but "
                + Arrays.toString(modelShape)
                + " in the model (a mask for another architecture?)");
      }
      if (e.getValue().count() > 0 && p.mask() != null) {
        throw new BadInputException(
            "parameter '"
                + e.getKey()
                + "' already has a mask; apply the union of the masks"
                + " (perase mask union) instead of applying them one after the other");
      }
    }
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Pruned pr = e.getValue();
      if (pr.count() == 0) {
        continue;
      }
      Param p = named.get(e.getKey());
      // 1[m > τ] as a boolean tensor (1 byte per element); W · true = W and W · false = ±0 exactly
      boolean[] keep = new boolean[Math.toIntExact(pr.numel())];
      Arrays.fill(keep, true);
      for (int i : pr.indices) {
        keep[i] = false;
      }
      NDArray m = p.value().getManager().create(keep, new Shape(pr.shape));
      p.setMask(m);
    }
  }

  /**
   * Removes (and frees) the masks on the parameters this mask prunes, so the model reads its stored
   * weights again, bit for bit the original. Parameters the model lacks are skipped.
   */
  public void removeFrom(ParamSet model) {
    Map<String, Param> named = model.named();
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Param p = named.get(e.getKey());
      if (p == null || e.getValue().count() == 0 || p.mask() == null) {
        continue;
      }
      NDArray old = p.mask();
      p.setMask(null);
      old.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Union

  /**
   * The union of masks for several concepts: an element is pruned if any mask prunes it. Every mask
   * must share the base model hash, and a parameter masked by several must have one shape. The
   * metadata joins the methods, selections and concepts; T and τ are kept where all agree (else
   * NaN); {@code settings} lists the inputs' own metadata under {@code union_of}. The union of one
   * mask is that mask.
   */
  public static BinaryMask union(BinaryMask... masks) {
    if (masks.length == 0) {
      throw new IllegalArgumentException("union of no masks");
    }
    if (masks.length == 1) {
      return masks[0];
    }
    String hash = masks[0].metadata.baseModelHash();
    for (BinaryMask m : masks) {
      requireSameBase(masks[0], m, "union");
    }
    Map<String, Pruned> out = new LinkedHashMap<>();
    for (BinaryMask m : masks) {
      for (Map.Entry<String, Pruned> e : m.params.entrySet()) {
        Pruned a = out.get(e.getKey());
        Pruned b = e.getValue();
        if (a == null) {
          out.put(e.getKey(), b);
          continue;
        }
        requireSameShape(e.getKey(), a, b, m.source, "another mask of the union");
        out.put(e.getKey(), new Pruned(a.shape, a.kind, mergeSorted(a.indices, b.indices)));
      }
    }
    Set<String> selections = new LinkedHashSet<>();
    Set<String> methods = new LinkedHashSet<>();
    Set<String> concepts = new LinkedHashSet<>();
    ArrayNode parts = JSON.createArrayNode();
    double t = masks[0].metadata.temperature();
    double tau = masks[0].metadata.threshold();
    for (BinaryMask m : masks) {
      MaskMetadata md = m.metadata;
      selections.add(md.selection());
      methods.add(md.method());
      if (!md.concept().isEmpty()) {
        concepts.add(md.concept());
      }
      if (Double.compare(md.temperature(), t) != 0) {
        t = Double.NaN;
      }
      if (Double.compare(md.threshold(), tau) != 0) {
        tau = Double.NaN;
      }
      ObjectNode part = parts.addObject();
      part.put("source", m.source);
      part.put("method", md.method());
      part.put("concept", md.concept());
      part.put("selection", md.selection());
      part.put("temperature", md.temperature());
      part.put("threshold", md.threshold());
      part.put("perase_version", md.peraseVersion());
      part.put("pruned_count", m.prunedCount());
      part.set("settings", parseJson(md.settingsJson()));
    }
    ObjectNode settings = JSON.createObjectNode();
    settings.set("union_of", parts);
    MaskMetadata meta =
        new MaskMetadata(
            hash,
            String.join("+", selections),
            String.join("+", methods),
            t,
            tau,
            String.join(", ", concepts),
            MaskMetadata.currentVersion(),
            settings.toString());
    return new BinaryMask(meta, out, "the union of " + masks.length + " masks");
  }

  /**
   * {@code perase mask remove}: the elements {@code from} prunes and {@code removed} does not — a
   * concept's mask taken back out of a union. Elements both prune are restored, also when another
   * mask of the union prunes them too (a union keeps no per-element provenance); to keep those,
   * union the remaining masks again. Masks for different base models, or naming a parameter with
   * another shape, are refused.
   */
  public static BinaryMask difference(BinaryMask from, BinaryMask removed) {
    requireSameBase(from, removed, "remove");
    Map<String, Pruned> out = new LinkedHashMap<>();
    for (Map.Entry<String, Pruned> e : from.params.entrySet()) {
      Pruned a = e.getValue();
      Pruned b = removed.params.get(e.getKey());
      if (b == null) {
        out.put(e.getKey(), a);
        continue;
      }
      requireSameShape(e.getKey(), a, b, removed.source, from.source);
      // both sorted: keep a's indices that b lacks
      int[] keep = new int[a.indices.length];
      int n = 0;
      int j = 0;
      for (int i : a.indices) {
        while (j < b.indices.length && b.indices[j] < i) {
          j++;
        }
        if (j >= b.indices.length || b.indices[j] != i) {
          keep[n++] = i;
        }
      }
      out.put(e.getKey(), new Pruned(a.shape, a.kind, Arrays.copyOf(keep, n)));
    }
    ObjectNode settings = JSON.createObjectNode();
    ObjectNode diff = settings.putObject("difference");
    diff.put("from", from.source);
    diff.set("from_settings", parseJson(from.metadata.settingsJson()));
    diff.put("removed", removed.source);
    diff.put("removed_concept", removed.metadata.concept());
    diff.put("removed_pruned_count", removed.prunedCount());
    MaskMetadata md = from.metadata;
    MaskMetadata meta =
        new MaskMetadata(
            md.baseModelHash(),
            md.selection(),
            md.method(),
            md.temperature(),
            md.threshold(),
            md.concept(),
            MaskMetadata.currentVersion(),
            settings.toString());
    return new BinaryMask(meta, out, from.source + " without " + removed.source);
  }

  /** Refuses combining two masks made for different base models. */
  private static void requireSameBase(BinaryMask a, BinaryMask b, String verb) {
    if (!a.metadata.baseModelHash().equalsIgnoreCase(b.metadata.baseModelHash())) {
      throw new BadInputException(
          "cannot "
              + verb
              + " "
              + a.source
              + " (base model "
              + a.metadata.baseModelHash()
              + ") and "
              + b.source
              + " (base model "
              + b.metadata.baseModelHash()
              + "): masks must be made for the same model");
    }
  }

  /** Refuses combining two masks that give a parameter different shapes or kinds. */
  private static void requireSameShape(
      String key, Pruned a, Pruned b, String source, String other) {
    if (!Arrays.equals(a.shape, b.shape) || a.kind != b.kind) {
      throw new BadInputException(
          source
              + ": parameter '"
              + key
              + "' has shape "
              + Arrays.toString(b.shape)
              + " but "
              + Arrays.toString(a.shape)
              + " in "
              + other);
    }
  }

  private static int[] mergeSorted(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < a.length || j < b.length) {
      int v;
      if (j >= b.length || (i < a.length && a[i] < b[j])) {
        v = a[i++];
      } else if (i >= a.length || b[j] < a[i]) {
        v = b[j++];
      } else {
        v = a[i++];
        j++;
      }
      out[n++] = v;
    }
    return Arrays.copyOf(out, n);
  }

  private static JsonNode parseJson(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("settings were validated as JSON", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BinaryMask m && metadata.equals(m.metadata) && params.equals(m.params);
  }

  @Override
  public int hashCode() {
    return Objects.hash(metadata, params);
  }

  @Override
  public String toString() {
    return "BinaryMask[" + source + ", " + prunedCount() + " of " + totalElements() + " pruned]";
  }
}

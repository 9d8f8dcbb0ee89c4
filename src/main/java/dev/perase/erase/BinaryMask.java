package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.TensorInfo;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.unet.LayerRole;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The hard mask {@code 1[m > τ]} of paper §3.3 as perase's main artifact (DESIGN.md §6): for each
 * masked parameter, the sorted flat (row-major) indices of its pruned elements. The erased model is
 * the base model plus this mask; removing it restores the original bit for bit, because masking
 * goes through the hook ({@link Param#effective()}) and never touches the stored weights.
 *
 * <h2>File layout</h2>
 *
 * A safetensors file. For every masked parameter with at least one pruned element, one 1-D {@code
 * I32} tensor named by the parameter's full dotted key, holding its k pruned indices delta-encoded:
 * {@code [i₀, i₁ − i₀, …, i_{k−1} − i_{k−2}]} (first index, then the strictly positive gaps). Flat
 * indices are int32, so a parameter may have at most 2³¹ − 1 elements (SD v1.x's largest has 29.5
 * million). The {@code __metadata__} holds strings:
 *
 * <ul>
 *   <li>{@code format} = {@code perase-mask}, {@code format_version} = {@code 1}, {@code
 *       index_encoding} = {@code delta-int32};
 *   <li>{@code base_model_hash}, {@code selection}, {@code method}, {@code temperature}, {@code
 *       threshold} (NaN when the method has none), {@code concept}, {@code perase_version}, {@code
 *       settings} (a JSON object);
 *   <li>{@code pruned_count} and {@code total_elements} (all elements of the masked parameters);
 *   <li>{@code params}: a JSON object, in model order, {@code {"<key>": {"shape": [...], "kind":
 *       "conv"|"linear", "pruned": k}}} for every masked parameter, including those with nothing
 *       pruned, so that a mask made for another architecture is refused on apply.
 * </ul>
 *
 * At the paper's pruned ratio (~1e-5 of SD v1.4's 860 M UNet weights) that is a few kilobytes.
 */
public final class BinaryMask {
  public static final String FORMAT = "perase-mask";
  public static final String FORMAT_VERSION = "1";
  public static final String INDEX_ENCODING = "delta-int32";

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

  private BinaryMask(MaskMetadata metadata, Map<String, Pruned> params, String source) {
    this.metadata = metadata;
    this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    this.source = source;
  }

  /** A mask over the given parameters (in the given order). */
  public static BinaryMask of(MaskMetadata metadata, Map<String, Pruned> params) {
    return new BinaryMask(metadata, params, "the mask");
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

  // ---------------------------------------------------------------------------------------------
  // File

  /**
   * Writes the mask file (see the class javadoc) under a temporary name and renames it into place.
   */
  public void write(Path path) {
    ObjectNode paramsJson = JSON.createObjectNode();
    SafeTensorsWriter w = new SafeTensorsWriter();
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Pruned p = e.getValue();
      ObjectNode o = paramsJson.putObject(e.getKey());
      ArrayNode shape = o.putArray("shape");
      for (long d : p.shape) {
        shape.add(d);
      }
      o.put("kind", p.kind.name().toLowerCase(Locale.ROOT));
      o.put("pruned", p.count());
      if (p.count() > 0) {
        int[] delta = new int[p.count()];
        delta[0] = p.indices[0];
        for (int j = 1; j < delta.length; j++) {
          delta[j] = p.indices[j] - p.indices[j - 1];
        }
        w.putInts(e.getKey(), new long[] {delta.length}, delta);
      }
    }
    w.metadata("format", FORMAT)
        .metadata("format_version", FORMAT_VERSION)
        .metadata("index_encoding", INDEX_ENCODING)
        .metadata("base_model_hash", metadata.baseModelHash())
        .metadata("selection", metadata.selection())
        .metadata("method", metadata.method())
        .metadata("temperature", Double.toString(metadata.temperature()))
        .metadata("threshold", Double.toString(metadata.threshold()))
        .metadata("concept", metadata.concept())
        .metadata("perase_version", metadata.peraseVersion())
        .metadata("settings", metadata.settingsJson())
        .metadata("pruned_count", Long.toString(prunedCount()))
        .metadata("total_elements", Long.toString(totalElements()))
        .metadata("params", paramsJson.toString());
    w.write(path);
  }

  /**
   * Reads and fully validates a mask file: format and encoding, metadata, every parameter's shape
   * and kind, every index (first ≥ 0, gaps ≥ 1, last below the parameter's element count), and the
   * recorded counts. Any defect is a {@link BadInputException} naming the file and the parameter.
   */
  public static BinaryMask read(Path path) {
    try (SafeTensors st = SafeTensors.open(path)) {
      Map<String, String> md = st.metadata();
      String where = path.toString();
      if (!FORMAT.equals(md.get("format"))) {
        throw new BadInputException(
            where
                + " is not a perase mask file (its metadata has no format '"
                + FORMAT
                + "'); is it a model checkpoint?");
      }
      if (!FORMAT_VERSION.equals(md.get("format_version"))) {
        throw new BadInputException(
            where
                + " is a perase mask of format version "
                + md.get("format_version")
                + ", which this perase cannot read (it reads version "
                + FORMAT_VERSION
                + ")");
      }
      if (!INDEX_ENCODING.equals(md.get("index_encoding"))) {
        throw new BadInputException(
            where
                + " uses index encoding '"
                + md.get("index_encoding")
                + "', expected '"
                + INDEX_ENCODING
                + "'");
      }
      MaskMetadata meta;
      try {
        meta =
            new MaskMetadata(
                required(md, "base_model_hash", where),
                required(md, "selection", where),
                required(md, "method", where),
                number(md, "temperature", where),
                number(md, "threshold", where),
                md.getOrDefault("concept", ""),
                md.get("perase_version"),
                md.get("settings"));
      } catch (BadInputException e) {
        throw new BadInputException(where + ": " + e.getMessage(), e);
      }
      Map<String, long[]> shapes = new LinkedHashMap<>();
      Map<String, Param.Kind> kinds = new LinkedHashMap<>();
      Map<String, Long> counts = new LinkedHashMap<>();
      parseParams(required(md, "params", where), where, shapes, kinds, counts);

      Map<String, Pruned> out = new LinkedHashMap<>();
      for (String key : st.keys()) {
        if (!shapes.containsKey(key)) {
          throw new BadInputException(
              where
                  + " holds indices for '"
                  + key
                  + "', a parameter its metadata does not list (corrupted file?)");
        }
      }
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        String key = e.getKey();
        long numel = numelOrRefuse(e.getValue(), key, where);
        long count = counts.get(key);
        int[] idx;
        if (!st.has(key)) {
          if (count != 0) {
            throw new BadInputException(
                where
                    + " lists "
                    + count
                    + " pruned elements for '"
                    + key
                    + "' but holds no indices for it (corrupted file?)");
          }
          idx = new int[0];
        } else {
          idx = decode(st, key, numel, where);
          if (idx.length != count) {
            throw new BadInputException(
                where
                    + " lists "
                    + count
                    + " pruned elements for '"
                    + key
                    + "' but holds "
                    + idx.length
                    + " indices (corrupted file?)");
          }
        }
        out.put(key, new Pruned(e.getValue(), kinds.get(key), idx));
      }
      BinaryMask mask = new BinaryMask(meta, out, where);
      long pruned = integer(md, "pruned_count", where);
      long total = integer(md, "total_elements", where);
      if (pruned != mask.prunedCount() || total != mask.totalElements()) {
        throw new BadInputException(
            where
                + " records "
                + pruned
                + " pruned of "
                + total
                + " elements, but its parameters"
                + " hold "
                + mask.prunedCount()
                + " of "
                + mask.totalElements()
                + " (corrupted file?)");
      }
      return mask;
    }
  }

  private static int[] decode(SafeTensors st, String key, long numel, String where) {
    TensorInfo info = st.info(key);
    if (info.dtype() != DType.I32 || info.shape().length != 1) {
      throw new BadInputException(
          where
              + ": indices of '"
              + key
              + "' must be a 1-D I32 tensor, found "
              + info.dtype()
              + " "
              + info.shapeString());
    }
    IntBuffer b = st.bytes(key).asIntBuffer();
    int[] idx = new int[b.remaining()];
    long prev = -1;
    for (int j = 0; j < idx.length; j++) {
      long d = b.get(j);
      long i = j == 0 ? d : prev + d;
      if (j == 0 ? d < 0 : d < 1) {
        throw new BadInputException(
            where
                + ": indices of '"
                + key
                + "' are not strictly increasing ("
                + (j == 0 ? "first index " : "gap ")
                + d
                + " at position "
                + j
                + "; corrupted file?)");
      }
      if (i >= numel) {
        throw new BadInputException(
            where
                + ": pruned index "
                + i
                + " of '"
                + key
                + "' is out of range for its "
                + numel
                + " elements (corrupted file?)");
      }
      idx[j] = (int) i;
      prev = i;
    }
    return idx;
  }

  private static void parseParams(
      String text,
      String where,
      Map<String, long[]> shapes,
      Map<String, Param.Kind> kinds,
      Map<String, Long> counts) {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new BadInputException(where + ": metadata 'params' is not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw new BadInputException(where + ": metadata 'params' must be a JSON object");
    }
    Iterator<Map.Entry<String, JsonNode>> it = root.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      JsonNode v = e.getValue();
      JsonNode shape = v.get("shape");
      JsonNode kind = v.get("kind");
      JsonNode pruned = v.get("pruned");
      if (shape == null
          || !shape.isArray()
          || kind == null
          || !kind.isTextual()
          || pruned == null
          || !pruned.canConvertToLong()
          || !pruned.isIntegralNumber()
          || pruned.asLong() < 0) {
        throw new BadInputException(
            where
                + ": metadata of parameter '"
                + key
                + "' must have a shape array, a kind and a pruned count");
      }
      long[] s = new long[shape.size()];
      for (int i = 0; i < s.length; i++) {
        JsonNode d = shape.get(i);
        if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
          throw new BadInputException(
              where + ": parameter '" + key + "' has a malformed shape " + shape);
        }
        s[i] = d.asLong();
      }
      Param.Kind k =
          switch (kind.asText()) {
            case "conv" -> Param.Kind.CONV;
            case "linear" -> Param.Kind.LINEAR;
            default ->
                throw new BadInputException(
                    where
                        + ": parameter '"
                        + key
                        + "' has kind '"
                        + kind.asText()
                        + "'; only conv and linear parameters are masked");
          };
      shapes.put(key, s);
      kinds.put(key, k);
      counts.put(key, pruned.asLong());
    }
  }

  private static long numelOrRefuse(long[] shape, String key, String where) {
    long n = 1;
    for (long d : shape) {
      if (d != 0 && n > Integer.MAX_VALUE / d) {
        throw new BadInputException(
            where
                + ": parameter '"
                + key
                + "' has shape "
                + Arrays.toString(shape)
                + ", more than the 2^31 - 1 elements int32 indices can address");
      }
      n *= d;
    }
    return n;
  }

  private static String required(Map<String, String> md, String key, String where) {
    String v = md.get(key);
    if (v == null) {
      throw new BadInputException(where + ": mask metadata lacks '" + key + "'");
    }
    return v;
  }

  private static double number(Map<String, String> md, String key, String where) {
    String v = required(md, key, where);
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new BadInputException(where + ": mask metadata '" + key + "' is not a number: " + v);
    }
  }

  private static long integer(Map<String, String> md, String key, String where) {
    String v = required(md, key, where);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new BadInputException(where + ": mask metadata '" + key + "' is not an integer: " + v);
    }
  }

  private static JsonNode parseJson(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("settings were validated as JSON", e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Summary

  /**
   * A human summary for {@code perase mask info}: provenance, the total and ratio, the split by
   * layer type (conv, linear) and by block role ({@link LayerRole}: attn1, attn2, ff, resnet, time
   * embedding, …), and the pruned count of each parameter that has any.
   */
  public String info() {
    StringBuilder sb = new StringBuilder();
    MaskMetadata md = metadata;
    sb.append(
        String.format(
            Locale.ROOT, "%s (%s, perase %s)%n", source, INDEX_ENCODING, md.peraseVersion()));
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
            prunedCount(),
            totalElements(),
            ratio(),
            withPruned,
            params.size()));
    Map<String, long[]> byType = new LinkedHashMap<>();
    Map<String, long[]> byRole = new LinkedHashMap<>();
    for (Map.Entry<String, Pruned> e : params.entrySet()) {
      Pruned p = e.getValue();
      add(byType, p.kind.name().toLowerCase(Locale.ROOT), p);
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
                Arrays.toString(p.shape),
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

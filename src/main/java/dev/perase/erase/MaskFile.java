package dev.perase.erase;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.erase.BinaryMask.Pruned;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.TensorInfo;
import dev.perase.model.nn.Param;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The file of a {@link BinaryMask} (DESIGN.md §6): writing it, and reading it back with every check
 * a file from elsewhere needs.
 *
 * <h2>Layout</h2>
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
final class MaskFile {
  static final String FORMAT = "perase-mask";
  static final String FORMAT_VERSION = "1";
  static final String INDEX_ENCODING = "delta-int32";

  private static final ObjectMapper JSON = new ObjectMapper();

  private MaskFile() {}

  /** Writes {@code mask}'s file under a temporary name and renames it into place. */
  static void write(BinaryMask mask, Path path) {
    MaskMetadata metadata = mask.metadata();
    ObjectNode paramsJson = JSON.createObjectNode();
    SafeTensorsWriter w = new SafeTensorsWriter();
    for (Map.Entry<String, Pruned> e : mask.perParameter().entrySet()) {
      Pruned p = e.getValue();
      ObjectNode o = paramsJson.putObject(e.getKey());
      ArrayNode shape = o.putArray("shape");
      for (long d : p.shape()) {
        shape.add(d);
      }
      o.put("kind", p.kind().name().toLowerCase(Locale.ROOT));
      o.put("pruned", p.count());
      if (p.count() > 0) {
        int[] indices = p.indices();
        int[] delta = new int[indices.length];
        delta[0] = indices[0];
        for (int j = 1; j < delta.length; j++) {
          delta[j] = indices[j] - indices[j - 1];
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
        .metadata("pruned_count", Long.toString(mask.prunedCount()))
        .metadata("total_elements", Long.toString(mask.totalElements()))
        .metadata("params", paramsJson.toString());
    w.write(path);
  }

  /**
   * Reads and fully validates a mask file: format and encoding, metadata, every parameter's shape
   * and kind, every index (first ≥ 0, gaps ≥ 1, last below the parameter's element count), and the
   * recorded counts. Any defect is a {@link BadInputException} naming the file and the parameter.
   */
  static BinaryMask read(Path path) {
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
}

package dev.perase.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded mutations of a reader's input: byte-level ones for any file, and ones that know the format
 * (a JSON tree, CSV fields, a safetensors header and body), which reach deeper than random bytes
 * because the result still parses. Every mutation is a function of the random source alone, so a
 * case is reproduced from the seed and its number.
 */
interface Mutator {
  byte[] mutate(byte[] seed, SplittableRandom r);

  /** Values that break readers: signs, limits of int and long, 2^40, huge, fractional. */
  JsonNodeFactory F = JsonNodeFactory.instance;

  ObjectMapper JSON = new ObjectMapper();

  static JsonNode interestingValue(SplittableRandom r) {
    return switch (r.nextInt(24)) {
      case 0 -> F.nullNode();
      case 1 -> F.booleanNode(r.nextBoolean());
      case 2 -> F.textNode("");
      case 3 -> F.textNode("x".repeat(1 + r.nextInt(10_000)));
      case 4 -> F.numberNode(0);
      case 5 -> F.numberNode(-1);
      case 6 -> F.numberNode(1);
      case 7 -> F.numberNode(Integer.MAX_VALUE);
      case 8 -> F.numberNode(1L << 31);
      case 9 -> F.numberNode(1L << 32);
      case 10 -> F.numberNode(1L << 40);
      case 11 -> F.numberNode(Long.MAX_VALUE);
      case 12 -> F.numberNode(BigInteger.ONE.shiftLeft(64));
      case 13 -> F.numberNode(Long.MIN_VALUE);
      case 14 -> F.numberNode(1e308);
      case 15 -> F.numberNode(0.5);
      case 16 -> F.numberNode(-0.0);
      case 17 -> F.arrayNode();
      case 18 -> F.objectNode();
      case 19 -> F.arrayNode().add(-1);
      case 20 -> F.arrayNode().add(1L << 40).add(1L << 40);
      case 21 -> F.numberNode(r.nextInt(1 << 16) - (1 << 15));
      case 22 -> F.textNode(Integer.toString(r.nextInt()));
      default -> F.numberNode(1e-320);
    };
  }

  /** Byte-level: bit flips, special bytes, deleted, inserted and copied ranges, truncation. */
  static byte[] bytes(byte[] in, SplittableRandom r) {
    byte[] b = in;
    int rounds = 1 + r.nextInt(3);
    for (int k = 0; k < rounds; k++) {
      int n = b.length;
      switch (r.nextInt(7)) {
        case 0 -> {
          if (n > 0) {
            b = b.clone();
            b[r.nextInt(n)] ^= (byte) (1 << r.nextInt(8));
          }
        }
        case 1 -> {
          if (n > 0) {
            byte[] special =
                "\0\u00ff\u007f\u0080\"{}[],:\n\r0-9e.\\".getBytes(StandardCharsets.ISO_8859_1);
            b = b.clone();
            b[r.nextInt(n)] = special[r.nextInt(special.length)];
          }
        }
        case 2 -> {
          if (n > 0) {
            int at = r.nextInt(n);
            int len = Math.min(n - at, 1 + r.nextInt(16));
            b = splice(b, at, len, new byte[0]);
          }
        }
        case 3 -> {
          byte[] ins = new byte[1 + r.nextInt(16)];
          r.nextBytes(ins);
          b = splice(b, n == 0 ? 0 : r.nextInt(n + 1), 0, ins);
        }
        case 4 -> {
          if (n > 0) {
            int at = r.nextInt(n);
            int len = Math.min(n - at, 1 + r.nextInt(64));
            byte[] copy = java.util.Arrays.copyOfRange(b, at, at + len);
            b = splice(b, r.nextInt(n + 1), 0, copy);
          }
        }
        case 5 -> b = java.util.Arrays.copyOf(b, n == 0 ? 0 : r.nextInt(n));
        default -> {
          byte[] tail = new byte[1 + r.nextInt(32)];
          r.nextBytes(tail);
          b = splice(b, n, 0, tail);
        }
      }
    }
    return b;
  }

  static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(insert, 0, out, at, insert.length);
    System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
    return out;
  }

  /**
   * JSON: one to three edits of the tree (a value replaced, a key dropped or added, an element
   * doubled), a repeated key, or bytes.
   */
  static Mutator json() {
    return (seed, r) -> {
      if (r.nextInt(5) == 0) {
        return bytes(seed, r);
      }
      JsonNode root;
      try {
        root = JSON.readTree(seed);
      } catch (java.io.IOException e) {
        return bytes(seed, r);
      }
      int edits = 1 + r.nextInt(3);
      for (int k = 0; k < edits; k++) {
        editTree(root, r, Mutator::interestingValue);
      }
      String text = root.toString();
      if (r.nextInt(6) == 0) {
        text = duplicateKey(text, r);
      }
      if (r.nextInt(8) == 0) {
        int depth = 1 + r.nextInt(5000); // deep nesting
        text = "[".repeat(depth) + text + "]".repeat(r.nextBoolean() ? depth : depth / 2);
      }
      return text.getBytes(StandardCharsets.UTF_8);
    };
  }

  /** Edits one node of {@code root}, found by a random walk, with {@code value} as new values. */
  static void editTree(
      JsonNode root,
      SplittableRandom r,
      java.util.function.Function<SplittableRandom, JsonNode> value) {
    JsonNode node = root;
    for (int depth = 0; depth < 8; depth++) {
      List<JsonNode> kids = new ArrayList<>();
      node.elements().forEachRemaining(kids::add);
      boolean container = node.isObject() || node.isArray();
      if (!container) {
        return;
      }
      boolean stop = kids.isEmpty() || r.nextInt(3) == 0;
      if (stop || kids.stream().noneMatch(c -> c.isContainerNode())) {
        edit(node, r, value);
        return;
      }
      JsonNode next = kids.get(r.nextInt(kids.size()));
      if (!next.isContainerNode()) {
        edit(node, r, value);
        return;
      }
      node = next;
    }
  }

  private static void edit(
      JsonNode node,
      SplittableRandom r,
      java.util.function.Function<SplittableRandom, JsonNode> value) {
    if (node instanceof ObjectNode o) {
      List<String> names = new ArrayList<>();
      o.fieldNames().forEachRemaining(names::add);
      int op = r.nextInt(4);
      if (names.isEmpty() || op == 3) {
        o.set("fuzz_" + r.nextInt(100), value.apply(r));
      } else if (op == 2) {
        o.remove(names.get(r.nextInt(names.size())));
      } else {
        o.set(names.get(r.nextInt(names.size())), value.apply(r));
      }
    } else if (node instanceof ArrayNode a) {
      int op = r.nextInt(4);
      if (a.isEmpty() || op == 3) {
        a.add(value.apply(r));
      } else if (op == 2) {
        a.remove(r.nextInt(a.size()));
      } else if (op == 1) {
        a.add(a.get(r.nextInt(a.size())).deepCopy());
      } else {
        a.set(r.nextInt(a.size()), value.apply(r));
      }
    }
  }

  /** Repeats the first key of a random object of the text, with another value. */
  static String duplicateKey(String text, SplittableRandom r) {
    List<Integer> opens = new ArrayList<>();
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == '{' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
        opens.add(i);
      }
    }
    if (opens.isEmpty()) {
      return text;
    }
    int at = opens.get(r.nextInt(opens.size()));
    int end = text.indexOf('"', at + 2);
    if (end < 0) {
      return text;
    }
    String key = text.substring(at + 1, end + 1);
    return text.substring(0, at + 1)
        + key
        + ":"
        + interestingValue(r)
        + ","
        + text.substring(at + 1);
  }

  /**
   * CSV: a field replaced by a value that breaks parsers, a row doubled, a column dropped, quotes,
   * line ends, a BOM, or bytes.
   */
  static Mutator csv() {
    String[] values = {
      "",
      "-1",
      "0",
      "18446744073709551615",
      "18446744073709551616",
      "9223372036854775808",
      "-9223372036854775809",
      "1e400",
      "NaN",
      "Infinity",
      "-Infinity",
      "0x10",
      " 3 ",
      "4.5",
      "\"",
      "\"\"",
      "\"a,b\"",
      "\"unterminated",
      "a\"b",
      "\u00e9\u4e2d",
      "x".repeat(5000),
      "1e-400",
      "+7",
      "007",
      "2147483648",
      "-0"
    };
    return (seed, r) -> {
      if (r.nextInt(4) == 0) {
        return bytes(seed, r);
      }
      String text = new String(seed, StandardCharsets.UTF_8);
      List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
      int edits = 1 + r.nextInt(3);
      for (int k = 0; k < edits; k++) {
        int li = r.nextInt(lines.size());
        String line = lines.get(li);
        switch (r.nextInt(8)) {
          case 0, 1, 2 -> {
            String[] f = line.split(",", -1);
            f[r.nextInt(f.length)] = values[r.nextInt(values.length)];
            lines.set(li, String.join(",", f));
          }
          case 3 -> lines.add(li, line);
          case 4 -> {
            String[] f = line.split(",", -1);
            List<String> keep = new ArrayList<>(List.of(f));
            keep.remove(r.nextInt(keep.size()));
            lines.set(li, String.join(",", keep));
          }
          case 5 -> lines.remove(li == 0 && lines.size() > 1 ? 1 : li);
          case 6 -> lines.add(r.nextInt(lines.size() + 1), r.nextBoolean() ? "" : ",,,");
          default -> {
            String[] f = lines.get(0).split(",", -1);
            int a = r.nextInt(f.length);
            int b = r.nextInt(f.length);
            String t = f[a];
            f[a] = f[b];
            f[b] = t;
            lines.set(0, String.join(",", f));
          }
        }
        if (lines.isEmpty()) {
          lines.add("");
        }
      }
      String out = String.join(r.nextInt(5) == 0 ? "\r\n" : "\n", lines);
      if (r.nextInt(10) == 0) {
        out = "\uFEFF" + out;
      }
      return out.getBytes(StandardCharsets.UTF_8);
    };
  }

  /**
   * safetensors: the header parsed and edited (dtypes, shapes of 2^40 elements, spans past the
   * file, repeated names, metadata that is not text) and written back with its length, or a wrong
   * length; the body truncated, grown or flipped.
   */
  static Mutator safetensors() {
    return (seed, r) -> {
      if (seed.length < 8 || r.nextInt(6) == 0) {
        return bytes(seed, r);
      }
      long len = ByteBuffer.wrap(seed, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (len < 2 || 8 + len > seed.length) {
        return bytes(seed, r);
      }
      byte[] header = java.util.Arrays.copyOfRange(seed, 8, (int) (8 + len));
      byte[] body = java.util.Arrays.copyOfRange(seed, (int) (8 + len), seed.length);
      String text;
      try {
        JsonNode root = JSON.readTree(header);
        int edits = 1 + r.nextInt(3);
        for (int k = 0; k < edits; k++) {
          editHeader((ObjectNode) root, r);
        }
        text = root.toString();
        if (r.nextInt(6) == 0) {
          text = duplicateKey(text, r);
        }
      } catch (java.io.IOException | ClassCastException e) {
        text = new String(header, StandardCharsets.UTF_8);
      }
      if (r.nextInt(4) == 0) {
        body = bytes(body, r);
      }
      byte[] h = text.getBytes(StandardCharsets.UTF_8);
      long prefix = h.length;
      if (r.nextInt(8) == 0) {
        long[] wrong = {
          0,
          1,
          7,
          h.length - 1L,
          h.length + 1L,
          h.length + body.length + 1L,
          1L << 40,
          -1,
          Long.MAX_VALUE
        };
        prefix = wrong[r.nextInt(wrong.length)];
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] p = new byte[8];
      ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN).putLong(prefix);
      out.writeBytes(p);
      out.writeBytes(h);
      out.writeBytes(body);
      return out.toByteArray();
    };
  }

  private static void editHeader(ObjectNode root, SplittableRandom r) {
    List<String> names = new ArrayList<>();
    root.fieldNames().forEachRemaining(names::add);
    names.remove("__metadata__");
    int op = r.nextInt(10);
    if (names.isEmpty() || op == 0) {
      editTree(root, r, Mutator::interestingValue);
      return;
    }
    String name = names.get(r.nextInt(names.size()));
    JsonNode entry = root.get(name);
    if (!(entry instanceof ObjectNode t)) {
      root.set(name, interestingValue(r));
      return;
    }
    switch (op) {
      case 1, 2 -> {
        String[] dtypes = {
          "F64", "F32", "F16", "BF16", "I64", "I32", "U8", "BOOL", "I16", "U16", "I8", "U64",
          "F8_E4M3", "", "f32"
        };
        t.put("dtype", dtypes[r.nextInt(dtypes.length)]);
      }
      case 3, 4 -> {
        ArrayNode shape = t.putArray("shape");
        long[] dims = {0, 1, 2, 3, 1L << 20, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, -1};
        int rank = r.nextInt(5);
        for (int i = 0; i < rank; i++) {
          shape.add(dims[r.nextInt(dims.length)]);
        }
      }
      case 5, 6 -> {
        ArrayNode off = t.putArray("data_offsets");
        long[] v = {0, 1, 4, 8, 1L << 31, 1L << 40, Long.MAX_VALUE, -1, r.nextInt(1 << 16)};
        off.add(v[r.nextInt(v.length)]);
        off.add(v[r.nextInt(v.length)]);
      }
      case 7 -> {
        // another tensor's span: overlapping data
        String other = names.get(r.nextInt(names.size()));
        if (root.get(other) instanceof ObjectNode o && o.has("data_offsets")) {
          t.set("data_offsets", o.get("data_offsets").deepCopy());
        }
      }
      case 8 -> {
        JsonNode md = root.get("__metadata__");
        if (md instanceof ObjectNode m && m.size() > 0) {
          Iterator<String> it = m.fieldNames();
          List<String> keys = new ArrayList<>();
          it.forEachRemaining(keys::add);
          String k = keys.get(r.nextInt(keys.size()));
          m.set(
              k, r.nextBoolean() ? interestingValue(r) : F.textNode(interestingValue(r).asText()));
        } else {
          root.set("__metadata__", interestingValue(r));
        }
      }
      default -> editTree(t, r, Mutator::interestingValue);
    }
  }

  /**
   * PNG: the header's width, height, depth and colour type set to edge values, or bytes; then, half
   * the time, every chunk's CRC recomputed so that the decoder reads past the check.
   */
  static byte[] png(byte[] seed, SplittableRandom r) {
    byte[] b = seed.clone();
    if (b.length > 33 && r.nextBoolean()) {
      ByteBuffer bb = ByteBuffer.wrap(b); // big-endian, as PNG
      int[] sizes = {0, 1, 2, 31, 32, 65535, 1 << 16, 1 << 20, 1 << 30, Integer.MAX_VALUE, -1};
      switch (r.nextInt(4)) {
        case 0 -> bb.putInt(16, sizes[r.nextInt(sizes.length)]);
        case 1 -> bb.putInt(20, sizes[r.nextInt(sizes.length)]);
        case 2 -> b[24] = (byte) new int[] {1, 2, 4, 8, 16, 0, 3, 255}[r.nextInt(8)];
        default -> b[25] = (byte) new int[] {0, 2, 3, 4, 6, 1, 7, 255}[r.nextInt(8)];
      }
    } else {
      b = bytes(b, r);
    }
    if (r.nextBoolean()) {
      fixCrcs(b);
    }
    return b;
  }

  private static void fixCrcs(byte[] b) {
    int at = 8;
    while (at + 12 <= b.length) {
      int len = ByteBuffer.wrap(b, at, 4).getInt();
      if (len < 0 || at + 12L + len > b.length) {
        return;
      }
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      crc.update(b, at + 4, 4 + len);
      ByteBuffer.wrap(b, at + 8 + len, 4).putInt((int) crc.getValue());
      at += 12 + len;
    }
  }
}

package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file opened for reading. The header is parsed and validated on open (length within
 * the file, a JSON object, known dtypes, shape × dtype size equal to the byte span, spans inside
 * the data area and not overlapping); each tensor is memory-mapped on demand, so files past 2 GiB
 * work as long as one tensor stays under 2 GiB. Floating tensors load as float32 NDArrays: F16 is
 * converted by torch, BF16 is widened in Java (DJL aborts the JVM on BF16 arrays).
 */
public final class SafeTensors implements AutoCloseable {
  // Strict JSON: a repeated tensor name or text after the header object is a malformed header.
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final long MAX_HEADER = 100L << 20;

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafeTensors(
      Path path,
      FileChannel channel,
      long dataStart,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens and validates a safetensors file; any defect is a {@link BadInputException}. */
  public static SafeTensors open(Path path) {
    refusePickle(path);
    FileChannel ch;
    try {
      ch = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new BadInputException("file not found: " + path);
    } catch (IOException e) {
      throw new BadInputException("cannot open " + path + ": " + e.getMessage(), e);
    }
    try {
      SafeTensors st = parse(path, ch);
      return st;
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /** Refuses pickle checkpoints (.ckpt, .bin, .pt, .pth): perase never unpickles. */
  public static void refusePickle(Path path) {
    String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase();
    if (name.endsWith(".ckpt")
        || name.endsWith(".bin")
        || name.endsWith(".pt")
        || name.endsWith(".pth")) {
      throw new BadInputException(
          path
              + " is a pickle checkpoint, which perase does not load because unpickling can run"
              + " arbitrary code; convert it to .safetensors first (for example with diffusers:"
              + " pipe = StableDiffusionPipeline.from_single_file(path);"
              + " pipe.save_pretrained(dir, safe_serialization=True))");
    }
  }

  private static SafeTensors parse(Path path, FileChannel ch) {
    long size;
    try {
      size = ch.size();
    } catch (IOException e) {
      throw new BadInputException("cannot read " + path + ": " + e.getMessage(), e);
    }
    if (size < 8) {
      throw new BadInputException(
          path
              + " is not a safetensors file: it is "
              + size
              + " bytes, shorter than the 8-byte header length");
    }
    ByteBuffer lenBuf = readAt(ch, 0, 8, path).order(ByteOrder.LITTLE_ENDIAN);
    long headerLen = lenBuf.getLong(0);
    if (headerLen < 2 || headerLen > MAX_HEADER || 8 + headerLen > size) {
      throw new BadInputException(
          path
              + " is not a valid safetensors file: its header length "
              + headerLen
              + " does not fit in the file of "
              + size
              + " bytes (truncated or not safetensors)");
    }
    ByteBuffer hb = readAt(ch, 8, (int) headerLen, path);
    String headerText = StandardCharsets.UTF_8.decode(hb).toString();
    JsonNode root;
    try {
      root = JSON.readTree(headerText);
    } catch (JsonProcessingException e) {
      throw new BadInputException(
          path
              + " has a safetensors header that is not valid JSON ("
              + e.getOriginalMessage()
              + ")");
    }
    if (root == null || !root.isObject()) {
      throw new BadInputException(path + " has a safetensors header that is not a JSON object");
    }
    long dataStart = 8 + headerLen;
    long dataSize = size - dataStart;
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = root.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode v = e.getValue();
      if (name.equals("__metadata__")) {
        if (!v.isObject()) {
          throw new BadInputException(path + ": __metadata__ must be a JSON object of strings");
        }
        v.fields()
            .forEachRemaining(
                m -> {
                  if (!m.getValue().isTextual()) {
                    throw new BadInputException(
                        path + ": __metadata__ value '" + m.getKey() + "' is not a string");
                  }
                  metadata.put(m.getKey(), m.getValue().asText());
                });
        continue;
      }
      tensors.put(name, parseEntry(path, name, v, dataSize));
    }
    checkNoOverlap(path, tensors);
    return new SafeTensors(
        path,
        ch,
        dataStart,
        Collections.unmodifiableMap(tensors),
        Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path path, String name, JsonNode v, long dataSize) {
    String where = path + ": tensor '" + name + "'";
    if (!v.isObject() || !v.has("dtype") || !v.has("shape") || !v.has("data_offsets")) {
      throw new BadInputException(where + " must have dtype, shape and data_offsets");
    }
    DType dtype;
    try {
      dtype = DType.parse(v.get("dtype").asText(), name);
    } catch (BadInputException e) {
      throw new BadInputException(path + ": " + e.getMessage());
    }
    JsonNode sh = v.get("shape");
    JsonNode off = v.get("data_offsets");
    if (!sh.isArray() || !off.isArray() || off.size() != 2) {
      throw new BadInputException(where + " has a malformed shape or data_offsets");
    }
    long[] shape = new long[sh.size()];
    long nbytes = dtype.bytes;
    for (int i = 0; i < shape.length; i++) {
      if (!isCount(sh.get(i))) {
        throw new BadInputException(where + " has a malformed shape " + sh);
      }
      shape[i] = sh.get(i).asLong();
      try {
        nbytes = Math.multiplyExact(nbytes, shape[i]);
      } catch (ArithmeticException overflow) {
        throw new BadInputException(where + " has a shape " + sh + " too large to address");
      }
    }
    if (!isCount(off.get(0)) || !isCount(off.get(1))) {
      throw new BadInputException(where + " has malformed data_offsets " + off);
    }
    long begin = off.get(0).asLong();
    long end = off.get(1).asLong();
    if (end < begin) {
      throw new BadInputException(
          where + " has data_offsets " + off + " that are not a valid span");
    }
    if (end > dataSize) {
      throw new BadInputException(
          where
              + " spans bytes "
              + begin
              + ".."
              + end
              + ", outside the data area of "
              + dataSize
              + " bytes (truncated file?)");
    }
    if (nbytes != end - begin) {
      throw new BadInputException(
          where
              + " has shape "
              + sh
              + " of "
              + dtype
              + " ("
              + nbytes
              + " bytes) but a byte span of "
              + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  /** A JSON integer that fits a non-negative long (2.5, "3", -1 and 2^64 are not). */
  private static boolean isCount(JsonNode n) {
    return n.isIntegralNumber() && n.canConvertToLong() && n.asLong() >= 0;
  }

  private static void checkNoOverlap(Path path, Map<String, TensorInfo> tensors) {
    List<TensorInfo> byBegin = new ArrayList<>(tensors.values());
    byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    for (int i = 1; i < byBegin.size(); i++) {
      TensorInfo a = byBegin.get(i - 1);
      TensorInfo b = byBegin.get(i);
      if (b.begin() < a.end()) {
        throw new BadInputException(
            path + ": tensors '" + a.name() + "' and '" + b.name() + "' overlap in the data area");
      }
    }
  }

  private static ByteBuffer readAt(FileChannel ch, long pos, int len, Path path) {
    ByteBuffer buf = ByteBuffer.allocate(len);
    try {
      while (buf.hasRemaining()) {
        int n = ch.read(buf, pos + buf.position());
        if (n < 0) {
          throw new BadInputException(path + " ended early (truncated file)");
        }
      }
    } catch (IOException e) {
      throw new BadInputException("cannot read " + path + ": " + e.getMessage(), e);
    }
    buf.flip();
    return buf;
  }

  public Path path() {
    return path;
  }

  /** Tensor names in header order. */
  public Set<String> keys() {
    return tensors.keySet();
  }

  public boolean has(String name) {
    return tensors.containsKey(name);
  }

  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new BadInputException(path + " has no tensor '" + name + "'");
    }
    return t;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** The raw little-endian bytes of a tensor, memory-mapped. */
  public ByteBuffer bytes(String name) {
    TensorInfo t = info(name);
    long len = t.end() - t.begin();
    if (len > Integer.MAX_VALUE) {
      throw new BadInputException(
          path
              + ": tensor '"
              + name
              + "' is larger than 2 GiB, which perase cannot map in one piece");
    }
    try {
      return channel
          .map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), len)
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new BadInputException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads {@code dst.remaining()} bytes of a tensor's data, from {@code offset} bytes into it, by a
   * positional read rather than a mapping: for copying tensors piece by piece, so that neither the
   * heap nor the mapped pages ever hold a whole file.
   */
  public void read(String name, long offset, ByteBuffer dst) {
    TensorInfo t = info(name);
    if (offset < 0 || offset + dst.remaining() > t.end() - t.begin()) {
      throw new IllegalArgumentException(
          "bytes " + offset + "+" + dst.remaining() + " are outside tensor '" + name + "'");
    }
    long pos = dataStart + t.begin() + offset;
    try {
      while (dst.hasRemaining()) {
        int n = channel.read(dst, pos);
        if (n < 0) {
          throw new BadInputException(path + " ended early (truncated file)");
        }
        pos += n;
      }
    } catch (IOException e) {
      throw new BadInputException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Loads a tensor into {@code manager}: floating dtypes as float32 (F64 narrowed), I64/I32 as
   * int64/int32, U8 and BOOL as uint8.
   */
  public NDArray load(String name, NDManager manager) {
    return load(info(name), bytes(name), manager);
  }

  /**
   * As {@link #load(String, NDManager)}, with the tensor's bytes read into {@code scratch} (a
   * direct buffer at least as large as the tensor, reused from call to call) by positional reads
   * instead of mapped: no mapping outlives the call, so a whole checkpoint read this way leaves
   * only the arrays in memory, not also its mapped pages until a GC unmaps them.
   */
  public NDArray load(String name, NDManager manager, ByteBuffer scratch) {
    TensorInfo t = info(name);
    long len = t.end() - t.begin();
    if (!scratch.isDirect() || len > scratch.capacity()) {
      throw new IllegalArgumentException(
          "scratch must be a direct buffer of at least " + len + " bytes for '" + name + "'");
    }
    scratch.clear().limit((int) len);
    read(name, 0, scratch);
    scratch.flip();
    return load(t, scratch.slice().order(ByteOrder.LITTLE_ENDIAN), manager);
  }

  /**
   * A direct buffer as large as this file's largest tensor, for {@link #load(String, NDManager,
   * ByteBuffer)} of every tensor in turn.
   */
  public ByteBuffer scratch() {
    long largest = 0;
    for (TensorInfo t : tensors.values()) {
      largest = Math.max(largest, t.end() - t.begin());
    }
    if (largest > Integer.MAX_VALUE) {
      throw new BadInputException(
          path + " holds a tensor larger than 2 GiB, which perase cannot read in one piece");
    }
    return ByteBuffer.allocateDirect((int) largest);
  }

  /** The tensor {@code t} from its bytes {@code b}, which the result never aliases. */
  private static NDArray load(TensorInfo t, ByteBuffer b, NDManager manager) {
    Shape shape = new Shape(t.shape());
    switch (t.dtype()) {
      case F64:
        float[] narrowed = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < narrowed.length; i++) {
          narrowed[i] = (float) b.getDouble(8 * i);
        }
        return manager.create(narrowed, shape);
      case F32:
        // A view of the mapping, cloned into torch's memory: DJL would copy a FloatBuffer into a
        // Java direct buffer, whose total -XX:MaxDirectMemorySize (by default -Xmx) caps, so an
        // F32 model larger than the heap limit (SD v1.4: 4.3 GB) could not be loaded.
        try (NDArray mapped = manager.create(b, shape, DataType.FLOAT32)) {
          return mapped.duplicate();
        }
      case F16:
        try (NDArray half = manager.create(b, shape, DataType.FLOAT16)) {
          return half.toType(DataType.FLOAT32, true);
        }
      case BF16:
        return manager.create(widenBf16(b, t.numel()), shape);
      case I64:
        return manager.create(b.asLongBuffer(), shape, DataType.INT64);
      case I32:
        return manager.create(b.asIntBuffer(), shape, DataType.INT32);
      default:
        // Copy: a direct (mapped) ByteBuffer would become the array's storage, aliasing the
        // read-only mapping, and an in-place op on it would crash the JVM.
        byte[] copy = new byte[b.remaining()];
        b.get(copy);
        return manager.create(ByteBuffer.wrap(copy), shape, DataType.UINT8);
    }
  }

  /** A floating tensor's values as a Java float array (F16 and BF16 widened). */
  public float[] floats(String name) {
    TensorInfo t = info(name);
    ByteBuffer b = bytes(name);
    int n = Math.toIntExact(t.numel());
    float[] out = new float[n];
    switch (t.dtype()) {
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) b.getDouble(8 * i);
        }
      }
      case F32 -> b.asFloatBuffer().get(out);
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Half.toFloat(b.getShort(2 * i));
        }
      }
      case BF16 -> widenBf16(b, n).get(out);
      case I64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.getLong(8 * i);
        }
      }
      case I32 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.getInt(4 * i);
        }
      }
      default -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i) & 0xff;
        }
      }
    }
    return out;
  }

  /** A floating tensor's values as a Java double array: F64 exactly, the others widened. */
  public double[] doubles(String name) {
    TensorInfo t = info(name);
    if (t.dtype() != DType.F64) {
      float[] f = floats(name);
      double[] out = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        out[i] = f[i];
      }
      return out;
    }
    ByteBuffer b = bytes(name);
    double[] out = new double[Math.toIntExact(t.numel())];
    b.asDoubleBuffer().get(out);
    return out;
  }

  /** An integer tensor's values as a Java long array. */
  public long[] longs(String name) {
    TensorInfo t = info(name);
    if (t.dtype().isFloat()) {
      throw new BadInputException(
          path + ": tensor '" + name + "' is " + t.dtype() + ", not an integer tensor");
    }
    ByteBuffer b = bytes(name);
    int n = Math.toIntExact(t.numel());
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] =
          switch (t.dtype()) {
            case I64 -> b.getLong(8 * i);
            case I32 -> b.getInt(4 * i);
            default -> b.get(i) & 0xff; // U8, BOOL
          };
    }
    return out;
  }

  private static java.nio.FloatBuffer widenBf16(ByteBuffer b, long numel) {
    int n = Math.toIntExact(numel);
    java.nio.FloatBuffer out = java.nio.FloatBuffer.allocate(n);
    for (int i = 0; i < n; i++) {
      out.put(Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16));
    }
    out.flip();
    return out;
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // closing a read-only channel: nothing to recover
    }
  }
}

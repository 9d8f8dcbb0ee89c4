package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path tmp;

  private static long directBytes() {
    return java.lang.management.ManagementFactory.getPlatformMXBeans(
            java.lang.management.BufferPoolMXBean.class)
        .stream()
        .filter(b -> b.getName().equals("direct"))
        .mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed)
        .sum();
  }

  /**
   * F32 weights are copied into torch's memory, not into Java direct buffers (which the JVM caps at
   * -Xmx unless told otherwise), and the copy is the array's own: changing it in place leaves the
   * read-only mapping alone.
   */
  @Test
  void f32TensorsLoadIntoTorchMemoryOfTheirOwn() {
    float[] v = new float[2 << 20]; // 8 MiB
    for (int i = 0; i < v.length; i++) {
      v[i] = i * 0.5f - 7;
    }
    Path f = tmp.resolve("f32.safetensors");
    new SafeTensorsWriter().putFloats("w", new long[] {v.length}, v).write(f);
    try (NDManager m = Torch.newManager();
        SafeTensors st = SafeTensors.open(f)) {
      long before = directBytes();
      NDArray a = st.load("w", m);
      long grown = directBytes() - before;
      assertTrue(grown < (1 << 20), "Java direct memory grew by " + grown + " bytes");
      assertEquals(DataType.FLOAT32, a.getDataType());
      a.addi(1);
      assertEquals(v[5] + 1, a.getFloat(5));
      assertEquals(v[5], st.floats("w")[5]);
      assertEquals(v[v.length - 1] + 1, a.getFloat(v.length - 1));
    }
  }

  // ---- round trips ----

  @Test
  void roundTripF32F16I64WithMetadataAndPaddedHeader() throws IOException {
    Path file = tmp.resolve("t.safetensors");
    float[] a = randomFloats(2 * 3 * 4, 1);
    float[] b = randomFloats(5, 2);
    b[0] = 1e-6f; // a half subnormal
    b[1] = 70000f; // past the half range: inf
    long[] ids = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 49407};
    try (NDManager m = Torch.newManager()) {
      new SafeTensorsWriter()
          .metadata("format", "pt")
          .metadata(Map.of("base_model_hash", "abc123"))
          .put("a", m.create(a, new Shape(2, 3, 4)))
          .put("b.half", m.create(b, new Shape(5)), DType.F16)
          .putLongs("ids", new long[] {5}, ids)
          .write(file);
    }

    byte[] raw = Files.readAllBytes(file);
    long headerLen = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertEquals(0, headerLen % 8, "header length is a multiple of 8");
    String header = new String(raw, 8, (int) headerLen, StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\""), header);
    String padding = header.substring(header.lastIndexOf('}') + 1);
    assertTrue(padding.length() < 8 && padding.replace(" ", "").isEmpty(), "padded with spaces");
    assertEquals(8 + headerLen + 24 * 4 + 5 * 2 + 5 * 8, raw.length);

    try (SafeTensors st = SafeTensors.open(file);
        NDManager m = Torch.newManager()) {
      assertEquals(List.of("a", "b.half", "ids"), List.copyOf(st.keys()));
      assertEquals(Map.of("format", "pt", "base_model_hash", "abc123"), st.metadata());
      assertEquals(DType.F32, st.info("a").dtype());
      assertArrayEquals(new long[] {2, 3, 4}, st.info("a").shape());
      assertArrayEquals(a, st.floats("a"));
      NDArray la = st.load("a", m);
      assertEquals(DataType.FLOAT32, la.getDataType());
      assertEquals(new Shape(2, 3, 4), la.getShape());
      assertArrayEquals(a, la.toFloatArray());

      assertEquals(DType.F16, st.info("b.half").dtype());
      float[] bHalf = new float[b.length];
      for (int i = 0; i < b.length; i++) {
        bHalf[i] = Half.round(b[i]);
      }
      assertEquals(Float.POSITIVE_INFINITY, bHalf[1]);
      assertArrayEquals(bHalf, st.floats("b.half"));
      assertArrayEquals(bHalf, st.load("b.half", m).toFloatArray());

      assertEquals(DType.I64, st.info("ids").dtype());
      assertArrayEquals(ids, st.longs("ids"));
      NDArray li = st.load("ids", m);
      assertEquals(DataType.INT64, li.getDataType());
      assertArrayEquals(ids, li.toLongArray());
    }
  }

  @Test
  void halfRoundingMatchesTorch() {
    // Java's round-to-nearest-even against torch's float16 cast, over normals, subnormals, ties
    // and overflow; the tests of F16 files rely on Half.round being exact.
    Random r = new Random(5);
    float[] v = new float[20000];
    for (int i = 0; i < v.length; i++) {
      int bits = r.nextInt();
      v[i] = Float.intBitsToFloat(bits & 0x8fffffff | ((r.nextInt(40) + 95) << 23)); // 2^-32..2^17
    }
    float[] special = {
      0f,
      -0f,
      65504f,
      65519.99f,
      65520f,
      -65520f,
      5.9604645e-8f,
      2.9802322e-8f,
      2.9802326e-8f,
      6.1035156e-5f,
      6.1028e-5f,
      1.00048828125f,
      1.000732421875f,
      1e-10f
    };
    System.arraycopy(special, 0, v, 0, special.length);
    try (NDManager m = Torch.newManager()) {
      float[] torch =
          m.create(v).toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, true).toFloatArray();
      for (int i = 0; i < v.length; i++) {
        assertEquals(
            Float.floatToIntBits(torch[i]),
            Float.floatToIntBits(Half.round(v[i])),
            "half of " + v[i]);
      }
    }
  }

  @Test
  void readsBf16AsWidenedFloats() {
    Path file = tmp.resolve("bf16.safetensors");
    float[] v = {1f, -2.5f, 3.140625f, 1e-20f, -0f, Float.POSITIVE_INFINITY};
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    float[] expected = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      int top = Float.floatToIntBits(v[i]) >>> 16; // truncation: these values are exact in BF16
      b.putShort((short) top);
      expected[i] = Float.intBitsToFloat(top << 16);
    }
    new SafeTensorsWriter().putRaw("w", DType.BF16, new long[] {2, 3}, b.array()).write(file);
    try (SafeTensors st = SafeTensors.open(file);
        NDManager m = Torch.newManager()) {
      assertEquals(DType.BF16, st.info("w").dtype());
      assertArrayEquals(expected, st.floats("w"));
      NDArray w = st.load("w", m);
      assertEquals(DataType.FLOAT32, w.getDataType());
      assertEquals(new Shape(2, 3), w.getShape());
      assertArrayEquals(expected, w.toFloatArray());
    }
  }

  @Test
  void loadedU8TensorOwnsItsMemory() {
    // A U8 array must not alias the read-only file mapping: writing into it would crash the JVM.
    Path file = tmp.resolve("u8.safetensors");
    new SafeTensorsWriter()
        .putRaw("m", DType.U8, new long[] {4}, new byte[] {1, 2, 3, (byte) 250})
        .write(file);
    try (NDManager m = Torch.newManager()) {
      NDArray a;
      try (SafeTensors st = SafeTensors.open(file)) {
        a = st.load("m", m);
        assertArrayEquals(new long[] {1, 2, 3, 250}, st.longs("m"));
      }
      a.addi(1);
      assertArrayEquals(new byte[] {2, 3, 4, (byte) 251}, a.toByteArray());
    }
  }

  // ---- bad input ----

  @Test
  void refusesTruncatedFiles() throws IOException {
    Path tiny = tmp.resolve("tiny.safetensors");
    Files.write(tiny, new byte[] {1, 2, 3});
    assertBad(tiny, "shorter than");

    Path good = tmp.resolve("good.safetensors");
    new SafeTensorsWriter().putFloats("x", new long[] {16}, randomFloats(16, 3)).write(good);
    byte[] all = Files.readAllBytes(good);
    Path cut = tmp.resolve("cut.safetensors");
    Files.write(cut, Arrays.copyOf(all, all.length - 5)); // data cut short
    assertBad(cut, "truncated");
    Files.write(cut, Arrays.copyOf(all, 20)); // header cut short
    assertBad(cut, "header length");
  }

  @Test
  void refusesHeaderLengthLargerThanFile() throws IOException {
    Path f = tmp.resolve("len.safetensors");
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(1 << 20).put("{}      ".getBytes(StandardCharsets.US_ASCII));
    Files.write(f, b.array());
    assertBad(f, "header length");
    b.putLong(0, -8); // a negative length (a huge unsigned one)
    Files.write(f, b.array());
    assertBad(f, "header length");
  }

  @Test
  void refusesHeaderThatIsNotAJsonObject() throws IOException {
    assertBad(raw("[1, 2, 3]", 0), "not a JSON object");
    assertBad(raw("\"text\"", 0), "not a JSON object");
  }

  @Test
  void refusesInvalidJson() throws IOException {
    assertBad(raw("{\"a\": {\"dtype\": \"F32\", ", 0), "not valid JSON");
    assertBad(raw("{} trailing", 0), "not valid JSON");
    String dup =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
    assertBad(raw(dup, 8), "not valid JSON");
  }

  @Test
  void refusesUnknownDtype() throws IOException {
    BadInputException e =
        assertBad(
            raw("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4),
            "F8_E4M3");
    assertTrue(e.getMessage().contains("'a'"), e.getMessage());
  }

  @Test
  void refusesSpanOutsideDataArea() throws IOException {
    assertBad(
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12),
        "outside the data area");
    assertBad(
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 12),
        "not a valid span");
    assertBad(
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 12),
        "malformed data_offsets");
  }

  @Test
  void refusesOverlappingSpans() throws IOException {
    String h =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    BadInputException e = assertBad(raw(h, 12), "overlap");
    assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("'b'"), e.getMessage());
  }

  @Test
  void refusesShapeThatDisagreesWithSpan() throws IOException {
    assertBad(
        raw("{\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8), "byte span");
    assertBad(
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8),
        "malformed shape");
    String huge =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296]," + "\"data_offsets\":[0,8]}}";
    assertBad(raw(huge, 8), "too large");
  }

  @Test
  void missingKeyIsBadInputNamingTheKey() {
    Path f = tmp.resolve("k.safetensors");
    new SafeTensorsWriter().putFloats("present", new long[] {1}, new float[] {1}).write(f);
    try (SafeTensors st = SafeTensors.open(f);
        NDManager m = Torch.newManager()) {
      BadInputException e = assertThrows(BadInputException.class, () -> st.load("absent", m));
      assertTrue(e.getMessage().contains("'absent'"), e.getMessage());
      assertThrows(BadInputException.class, () -> st.floats("absent"));
      assertThrows(BadInputException.class, () -> st.longs("present")); // F32 is no integer
    }
  }

  @Test
  void refusesPickleCheckpointsWithConversionHint() throws IOException {
    for (String name : List.of("model.ckpt", "pytorch_model.bin", "x.PT", "y.pth")) {
      Path f = tmp.resolve(name);
      Files.write(f, new byte[64]);
      BadInputException e = assertBad(f, "pickle");
      assertTrue(
          e.getMessage().contains("convert") && e.getMessage().contains("safetensors"),
          e.getMessage());
    }
    BadInputException e =
        assertThrows(
            BadInputException.class, () -> SafeTensors.open(tmp.resolve("nope.safetensors")));
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }

  // ---- large files ----

  @Test
  void readsTensorPastTwoGibibytes() throws IOException {
    // A sparse file: a 2 GiB + 16 B U8 "filler" tensor nobody reads, then a small F32 tensor whose
    // data begins past 2^31 bytes. Only the header and the last 16 bytes are written.
    long fillerBytes = (1L << 31) + 16;
    String header =
        "{\"filler\":{\"dtype\":\"U8\",\"shape\":["
            + fillerBytes
            + "],\"data_offsets\":[0,"
            + fillerBytes
            + "]},\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":["
            + fillerBytes
            + ","
            + (fillerBytes + 16)
            + "]}}";
    byte[] h = padded(header);
    float[] x = {1.5f, -2f, 3.25f, 1e30f};
    ByteBuffer xb = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    xb.asFloatBuffer().put(x);
    Path f = tmp.resolve("big.safetensors");
    try (FileChannel ch =
        FileChannel.open(
            f,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            StandardOpenOption.SPARSE)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
      ch.write(len);
      ch.write(ByteBuffer.wrap(h));
      ch.position(8 + h.length + fillerBytes);
      ch.write(xb);
    } catch (IOException e) {
      Assumptions.abort("the temp filesystem refuses a sparse 2 GiB file: " + e.getMessage());
    }
    try (SafeTensors st = SafeTensors.open(f);
        NDManager m = Torch.newManager()) {
      assertEquals(fillerBytes, st.info("x").begin());
      assertArrayEquals(x, st.floats("x"));
      assertArrayEquals(x, st.load("x", m).toFloatArray());
      BadInputException e = assertThrows(BadInputException.class, () -> st.bytes("filler"));
      assertTrue(e.getMessage().contains("2 GiB"), e.getMessage());
    } finally {
      Files.deleteIfExists(f);
    }
  }

  // ---- atomic writes ----

  @Test
  void failedWriteLeavesExistingFileUntouched() throws IOException {
    Path f = tmp.resolve("keep.safetensors");
    new SafeTensorsWriter().putFloats("x", new long[] {2}, new float[] {1, 2}).write(f);
    byte[] before = Files.readAllBytes(f);

    SafeTensorsWriter w = new SafeTensorsWriter().putFloats("y", new long[] {1}, new float[] {9});
    assertThrows(
        IllegalArgumentException.class, () -> w.putFloats("y", new long[] {1}, new float[] {8}));
    assertThrows(
        IllegalArgumentException.class,
        () -> w.putRaw("z", DType.F32, new long[] {3}, new byte[8])); // wrong byte count
    assertThrows(
        IllegalArgumentException.class,
        () -> w.putRaw("n", DType.U8, new long[] {-1, -4}, new byte[4])); // negative dims
    assertArrayEquals(before, Files.readAllBytes(f));

    // A body that fails half-way through the temporary file.
    assertThrows(
        FileAccessException.class,
        () ->
            AtomicFile.write(
                f,
                out -> {
                  out.write(new byte[1000]);
                  throw new IOException("disk full");
                }));
    assertArrayEquals(before, Files.readAllBytes(f));
    try (var names = Files.list(tmp)) {
      assertEquals(
          List.of("keep.safetensors"),
          names.map(p -> p.getFileName().toString()).toList(),
          "no temporary file left");
    }
  }

  @Test
  void writeIntoReadOnlyFolderLeavesExistingFileUntouched() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("ro"));
    Path f = dir.resolve("keep.safetensors");
    new SafeTensorsWriter().putFloats("x", new long[] {2}, new float[] {1, 2}).write(f);
    byte[] before = Files.readAllBytes(f);
    assertTrue(dir.toFile().setWritable(false, false));
    try {
      Assumptions.assumeFalse(Files.isWritable(dir), "running as root: permissions not enforced");
      assertThrows(
          RuntimeException.class,
          () -> new SafeTensorsWriter().putFloats("y", new long[] {1}, new float[] {3}).write(f));
      assertArrayEquals(before, Files.readAllBytes(f));
    } finally {
      dir.toFile().setWritable(true, false);
    }
  }

  @Test
  void writtenFileHasOrdinaryPermissions() throws IOException {
    // The temporary file must not keep createTempFile's private rw------- mode after the rename.
    Path f = tmp.resolve("perm.safetensors");
    new SafeTensorsWriter().putFloats("x", new long[] {1}, new float[] {1}).write(f);
    Path plain = Files.createFile(tmp.resolve("plain"));
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f));
  }

  // ---- helpers ----

  private BadInputException assertBad(Path file, String word) {
    BadInputException e =
        assertThrows(BadInputException.class, () -> SafeTensors.open(file).close());
    assertTrue(
        e.getMessage().contains(word), "message should contain '" + word + "': " + e.getMessage());
    assertTrue(
        e.getMessage().contains(file.getFileName().toString()),
        "names the file: " + e.getMessage());
    return e;
  }

  /** A file with the given header (padded) followed by {@code dataBytes} zero bytes. */
  private Path raw(String header, int dataBytes) throws IOException {
    byte[] h = padded(header);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Path f = Files.createTempFile(tmp, "raw", ".safetensors");
    Files.write(f, b.array());
    return f;
  }

  private static byte[] padded(String header) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    byte[] p = new byte[(h.length + 7) / 8 * 8];
    Arrays.fill(p, (byte) ' ');
    System.arraycopy(h, 0, p, 0, h.length);
    return p;
  }

  private static float[] randomFloats(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }
}

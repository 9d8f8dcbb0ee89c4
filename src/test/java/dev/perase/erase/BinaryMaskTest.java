package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.vae.AutoencoderKL;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hard mask on the tiny fixture VAE and a UNet-named model: apply, remove, file, union,
 * refusals.
 */
class BinaryMaskTest {
  private static final String HASH =
      "5f1c0a9e00000000000000000000000000000000000000000000000000000001";
  private static final String OTHER_HASH =
      "77aa000000000000000000000000000000000000000000000000000000000002";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static NDManager manager;
  private static AutoencoderKL vae;
  private static float[] latentData;

  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    manager = Torch.newManager();
    vae = AutoencoderKL.load(Fixtures.tinySd().resolve("vae"), manager);
    Torch.seed(11);
    latentData = manager.randomNormal(new Shape(1, 4, 8, 8)).toFloatArray();
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  private static float[] decode() {
    try (NDManager m = manager.newSubManager()) {
      return vae.decode(m.create(latentData, new Shape(1, 4, 8, 8))).toFloatArray();
    }
  }

  /** A mask pruning a random {@code share} of each decoder conv/linear parameter (seeded). */
  private static BinaryMask randomDecoderMask(double share, long seed, String hash) {
    Random rnd = new Random(seed);
    Map<String, BinaryMask.Pruned> pruned = new LinkedHashMap<>();
    Selection sel = Selection.regex("^decoder\\.");
    for (Param p : sel.select(vae.params())) {
      pruned.put(p.name(), randomPruned(p.value().getShape().getShape(), p.kind(), share, rnd));
    }
    return BinaryMask.of(meta(hash, sel.name(), "p-esd", "a shape"), pruned);
  }

  private static BinaryMask.Pruned randomPruned(
      long[] shape, Param.Kind kind, double share, Random rnd) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    TreeSet<Integer> idx = new TreeSet<>();
    int k = (int) Math.max(1, Math.round(share * n));
    while (idx.size() < k) {
      idx.add(rnd.nextInt((int) n));
    }
    return new BinaryMask.Pruned(shape, kind, idx.stream().mapToInt(Integer::intValue).toArray());
  }

  private static MaskMetadata meta(String hash, String selection, String method, String concept) {
    return new MaskMetadata(
        hash, selection, method, 10, 0.5, concept, null, "{\"lr\": 0.1, \"steps\": 250}");
  }

  private static Map<String, float[]> values(ParamSet ps) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Param p : ps.named().values()) {
      out.put(p.name(), p.value().toFloatArray());
    }
    return out;
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  /**
   * Applying a mask changes the VAE's decode, leaves every stored weight untouched, and removing it
   * gives the original decode bit for bit.
   */
  @Test
  void applyThenRemoveRestoresTheVaeDecodeBitForBit() {
    float[] original = decode();
    Map<String, float[]> weights = values(vae.params());
    BinaryMask mask = randomDecoderMask(0.01, 1, HASH);
    mask.applyTo(vae.params(), HASH);
    float[] masked;
    try {
      masked = decode();
      for (Param p : vae.params().named().values()) {
        assertArrayEquals(weights.get(p.name()), p.value().toFloatArray(), p.name() + " changed");
      }
    } finally {
      mask.removeFrom(vae.params());
    }
    float[] restored = decode();
    double change = maxAbsDiff(original, masked);
    System.out.printf(
        "VAE decode: %d of %d decoder elements pruned, max |Δ| masked = %.3g, removed = %.3g%n",
        mask.prunedCount(), mask.totalElements(), change, maxAbsDiff(original, restored));
    assertTrue(change > 1e-3, "the mask did not change the decode: " + change);
    assertArrayEquals(original, restored, "decode after removing the mask");
    for (Param p : vae.params().named().values()) {
      assertNull(p.mask(), p.name());
    }
  }

  /**
   * A mask written, read back and applied gives the same decode, bit for bit, as the in-memory one.
   */
  @Test
  void writtenAndReadMaskGivesTheSameOutputsAsTheInMemoryMask() throws IOException {
    BinaryMask mask = randomDecoderMask(0.02, 2, HASH);
    Path file = tmp.resolve("mask.safetensors");
    mask.write(file);
    BinaryMask read = BinaryMask.read(file);
    assertEquals(mask, read);
    assertEquals(mask.prunedCount(), read.prunedCount());
    try (SafeTensors st = SafeTensors.open(file)) {
      assertEquals("delta-int32", st.metadata().get("index_encoding"));
      assertEquals(HASH, st.metadata().get("base_model_hash"));
      assertEquals(Long.toString(mask.prunedCount()), st.metadata().get("pruned_count"));
    }
    mask.applyTo(vae.params(), HASH);
    float[] inMemory = decode();
    mask.removeFrom(vae.params());
    read.applyTo(vae.params(), HASH);
    float[] fromFile = decode();
    read.removeFrom(vae.params());
    assertArrayEquals(inMemory, fromFile);
    System.out.print(read.info());
    System.out.printf(
        "mask file: %d bytes for %d pruned of %d elements%n",
        Files.size(file), read.prunedCount(), read.totalElements());
  }

  /** The union prunes what any of its masks prunes, and needs one base model. */
  @Test
  void unionPrunesAnElementPrunedByAnyMask() {
    long[] shape = {8, 6};
    String a = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    String b = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight";
    String c = "down_blocks.0.resnets.0.conv1.bias";
    Map<String, BinaryMask.Pruned> m1 = new LinkedHashMap<>();
    m1.put(a, new BinaryMask.Pruned(shape, Param.Kind.LINEAR, new int[] {1, 4, 9}));
    m1.put(b, new BinaryMask.Pruned(shape, Param.Kind.LINEAR, new int[] {}));
    Map<String, BinaryMask.Pruned> m2 = new LinkedHashMap<>();
    m2.put(a, new BinaryMask.Pruned(shape, Param.Kind.LINEAR, new int[] {0, 4, 10, 47}));
    m2.put(c, new BinaryMask.Pruned(new long[] {8}, Param.Kind.CONV, new int[] {7}));
    BinaryMask first = BinaryMask.of(meta(HASH, "cross-attn", "p-esd", "van gogh"), m1);
    BinaryMask second = BinaryMask.of(meta(HASH, "non-cross-attn", "p-esd", "church"), m2);

    BinaryMask union = BinaryMask.union(first, second);
    assertEquals(List.of(a, b, c), List.copyOf(union.perParameter().keySet()));
    assertArrayEquals(new int[] {0, 1, 4, 9, 10, 47}, union.perParameter().get(a).indices());
    assertArrayEquals(new int[] {}, union.perParameter().get(b).indices());
    assertArrayEquals(new int[] {7}, union.perParameter().get(c).indices());
    assertEquals(7, union.prunedCount());
    assertEquals(48 + 48 + 8, union.totalElements());
    assertEquals("cross-attn+non-cross-attn", union.metadata().selection());
    assertEquals("p-esd", union.metadata().method());
    assertEquals("van gogh, church", union.metadata().concept());
    assertEquals(10.0, union.metadata().temperature());
    assertTrue(union.metadata().settingsJson().contains("union_of"));
    assertEquals(first, BinaryMask.union(first));

    // applied to a UNet-named model: zero exactly at the union's indices
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      union.applyTo(model.params, HASH);
      float[] w = model.params.get(a).value().toFloatArray();
      float[] eff = model.params.get(a).effective().toFloatArray();
      for (int i = 0; i < w.length; i++) {
        boolean pruned = Arrays.binarySearch(new int[] {0, 1, 4, 9, 10, 47}, i) >= 0;
        assertEquals(pruned ? 0f : w[i], eff[i], 0f, a + "[" + i + "]");
      }
      assertSame(model.params.get(b).value(), model.params.get(b).effective());
      union.removeFrom(model.params);
    }

    BinaryMask foreign = BinaryMask.of(meta(OTHER_HASH, "all", "p-esd", "x"), m2);
    BadInputException e =
        assertThrows(BadInputException.class, () -> BinaryMask.union(first, foreign));
    assertTrue(e.getMessage().contains("same model"), e.getMessage());
    Map<String, BinaryMask.Pruned> wrongShape = new LinkedHashMap<>();
    wrongShape.put(a, new BinaryMask.Pruned(new long[] {6, 8}, Param.Kind.LINEAR, new int[] {2}));
    assertThrows(
        BadInputException.class,
        () -> BinaryMask.union(first, BinaryMask.of(meta(HASH, "all", "p-esd", ""), wrongShape)));
  }

  /** Removing a mask from a union restores exactly its elements; disjoint parts come back whole. */
  @Test
  void removingAMaskFromAUnionRestoresItsElements() {
    long[] shape = {8, 6};
    String a = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    String c = "down_blocks.0.resnets.0.conv1.bias";
    Map<String, BinaryMask.Pruned> m1 = new LinkedHashMap<>();
    m1.put(a, new BinaryMask.Pruned(shape, Param.Kind.LINEAR, new int[] {1, 4, 9}));
    Map<String, BinaryMask.Pruned> m2 = new LinkedHashMap<>();
    m2.put(a, new BinaryMask.Pruned(shape, Param.Kind.LINEAR, new int[] {0, 10, 47}));
    m2.put(c, new BinaryMask.Pruned(new long[] {8}, Param.Kind.CONV, new int[] {7}));
    BinaryMask first = BinaryMask.of(meta(HASH, "cross-attn", "p-esd", "van gogh"), m1);
    BinaryMask second = BinaryMask.of(meta(HASH, "non-cross-attn", "p-esd", "church"), m2);
    BinaryMask union = BinaryMask.union(first, second);

    BinaryMask back = BinaryMask.difference(union, second);
    assertArrayEquals(new int[] {1, 4, 9}, back.perParameter().get(a).indices());
    assertArrayEquals(new int[] {}, back.perParameter().get(c).indices());
    assertEquals(first.prunedCount(), back.prunedCount());
    assertTrue(back.metadata().settingsJson().contains("difference"));
    assertEquals(0, BinaryMask.difference(first, first).prunedCount());

    BinaryMask foreign = BinaryMask.of(meta(OTHER_HASH, "all", "p-esd", "x"), m2);
    BadInputException e =
        assertThrows(BadInputException.class, () -> BinaryMask.difference(union, foreign));
    assertTrue(e.getMessage().contains("same model"), e.getMessage());
  }

  /** A mask for another base model, or naming a parameter or shape the model lacks, is refused. */
  @Test
  void applyingToAnotherModelIsRefusedAndChangesNothing() {
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      String k = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
      Map<String, BinaryMask.Pruned> ok = new LinkedHashMap<>();
      ok.put(k, new BinaryMask.Pruned(new long[] {8, 6}, Param.Kind.LINEAR, new int[] {3}));
      BinaryMask mask = BinaryMask.of(meta(HASH, "cross-attn", "p-esd", ""), ok);

      BadInputException hash =
          assertThrows(BadInputException.class, () -> mask.applyTo(model.params, OTHER_HASH));
      assertTrue(
          hash.getMessage().contains(HASH) && hash.getMessage().contains(OTHER_HASH),
          hash.getMessage());

      Map<String, BinaryMask.Pruned> missing = new LinkedHashMap<>(ok);
      missing.put(
          "up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_k.weight",
          new BinaryMask.Pruned(new long[] {320, 768}, Param.Kind.LINEAR, new int[] {5}));
      BadInputException miss =
          assertThrows(
              BadInputException.class,
              () ->
                  BinaryMask.of(meta(HASH, "cross-attn", "p-esd", ""), missing)
                      .applyTo(model.params, HASH));
      assertTrue(miss.getMessage().contains("up_blocks.3"), miss.getMessage());

      Map<String, BinaryMask.Pruned> shape = new LinkedHashMap<>();
      shape.put(k, new BinaryMask.Pruned(new long[] {8, 7}, Param.Kind.LINEAR, new int[] {3}));
      BadInputException sh =
          assertThrows(
              BadInputException.class,
              () ->
                  BinaryMask.of(meta(HASH, "cross-attn", "p-esd", ""), shape)
                      .applyTo(model.params, HASH));
      assertTrue(sh.getMessage().contains("[8, 7]"), sh.getMessage());
      for (Param p : model.params.named().values()) {
        assertNull(p.mask(), p.name() + " was masked by a refused mask");
      }

      mask.applyTo(model.params, HASH.toUpperCase());
      assertThrows(BadInputException.class, () -> mask.applyTo(model.params, HASH));
      mask.removeFrom(model.params);
    }
  }

  /** Corrupted or foreign files are refused on read with a message naming the defect. */
  @Test
  void corruptedMaskFilesAreRefused() throws IOException {
    String k = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    String bias = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.bias";
    Map<String, BinaryMask.Pruned> p = new LinkedHashMap<>();
    p.put(k, new BinaryMask.Pruned(new long[] {8, 6}, Param.Kind.LINEAR, new int[] {3, 10, 40}));
    p.put(bias, new BinaryMask.Pruned(new long[] {8}, Param.Kind.LINEAR, new int[] {}));
    Path good = tmp.resolve("good.safetensors");
    BinaryMask.of(meta(HASH, "cross-attn", "p-esd", ""), p).write(good);
    assertEquals(3, BinaryMask.read(good).prunedCount());

    // index out of range: the last gap points past the 48 elements
    refused(good, "out of range", (md, t) -> t.put(k, new int[] {3, 7, 48}));
    // indices not increasing
    refused(good, "not strictly increasing", (md, t) -> t.put(k, new int[] {3, 0, 30}));
    // a tensor for a parameter the metadata does not list
    refused(good, "does not list", (md, t) -> t.put("conv_in.weight", new int[] {1}));
    // a listed pruned count without indices
    refused(good, "holds no indices", (md, t) -> t.remove(k));
    // malformed shape metadata
    refused(good, "malformed shape", (md, t) -> md.put("params", editParams(md, k, "[8, -6]")));
    // recorded counts that disagree with the indices
    refused(good, "corrupted", (md, t) -> md.put("pruned_count", "4"));
    // another index encoding
    refused(good, "index encoding", (md, t) -> md.put("index_encoding", "plain-int64"));
    // a checkpoint, not a mask
    BadInputException notMask =
        assertThrows(
            BadInputException.class,
            () -> BinaryMask.read(Fixtures.tinySd().resolve("vae").resolve(AutoencoderKL.WEIGHTS)));
    assertTrue(notMask.getMessage().contains("not a perase mask"), notMask.getMessage());
    // a truncated file
    byte[] bytes = Files.readAllBytes(good);
    Path cut = tmp.resolve("cut.safetensors");
    Files.write(cut, Arrays.copyOf(bytes, bytes.length - 4));
    assertThrows(BadInputException.class, () -> BinaryMask.read(cut));

    // shape metadata that parses but is not the model's: read, then refused on apply
    Path otherShape = tmp.resolve("shape.safetensors");
    rewrite(good, otherShape, (md, t) -> md.put("params", editParams(md, k, "[6, 8]")));
    BinaryMask wrong = BinaryMask.read(otherShape);
    try (NDManager m = Torch.newManager()) {
      MiniUNetParams model = new MiniUNetParams(m);
      BadInputException e =
          assertThrows(BadInputException.class, () -> wrong.applyTo(model.params, HASH));
      assertTrue(e.getMessage().contains(otherShape.toString()), e.getMessage());
      assertTrue(e.getMessage().contains("[6, 8]"), e.getMessage());
    }
  }

  /** 1e-3 of a million elements pruned: the file holds 1000 int32 gaps and a short header. */
  @Test
  void maskFileIsSmallAtARealisticPrunedRatio() throws IOException {
    Random rnd = new Random(5);
    Map<String, BinaryMask.Pruned> p = new LinkedHashMap<>();
    p.put(
        "mid_block.resnets.0.conv1.weight",
        randomPruned(new long[] {1000, 10, 10, 10}, Param.Kind.CONV, 1e-3, rnd));
    BinaryMask mask = BinaryMask.of(meta(HASH, "non-cross-attn", "p-esd", "nudity"), p);
    assertEquals(1000, mask.prunedCount());
    assertEquals(1_000_000, mask.totalElements());
    Path file = tmp.resolve("mask.safetensors");
    mask.write(file);
    long size = Files.size(file);
    System.out.printf(
        "mask file for 1000 pruned of 1,000,000 elements: %d bytes (a dense float32 mask:"
            + " 4,000,000)%n",
        size);
    assertTrue(size < 6000, "mask file is " + size + " bytes");
    assertEquals(mask, BinaryMask.read(file));
  }

  @Test
  void infoSplitsByLayerTypeAndBlock() {
    Map<String, BinaryMask.Pruned> p = new LinkedHashMap<>();
    p.put(
        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        new BinaryMask.Pruned(new long[] {8, 6}, Param.Kind.LINEAR, new int[] {1, 2}));
    p.put(
        "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight",
        new BinaryMask.Pruned(new long[] {8, 8}, Param.Kind.LINEAR, new int[] {}));
    p.put(
        "down_blocks.0.resnets.0.conv1.weight",
        new BinaryMask.Pruned(new long[] {8, 8, 3, 3}, Param.Kind.CONV, new int[] {5, 6, 7}));
    p.put(
        "down_blocks.1.attentions.0.proj_in.weight",
        new BinaryMask.Pruned(new long[] {8, 8, 1, 1}, Param.Kind.CONV, new int[] {0}));
    String info = BinaryMask.of(meta(HASH, "all", "p-esd", "church"), p).info();
    System.out.print(info);
    assertTrue(info.contains("pruned 6 of 752 selected elements"), info);
    assertTrue(info.matches("(?s).*conv\\s+4 of\\s+640.*"), info);
    assertTrue(info.matches("(?s).*linear\\s+2 of\\s+112.*"), info);
    assertTrue(info.matches("(?s).*attn2 \\(cross-attention\\)\\s+2 of.*"), info);
    assertTrue(info.matches("(?s).*resnet\\s+3 of.*"), info);
    assertTrue(info.matches("(?s).*proj_in/proj_out\\s+1 of.*"), info);
    assertTrue(info.contains("(1 masked tensors with nothing pruned not listed)"), info);
  }

  /** Edits the safetensors metadata and the index tensors (decoded to plain indices) of a mask. */
  private interface Edit {
    void apply(Map<String, String> metadata, Map<String, int[]> indices);
  }

  private static void refused(Path good, String expected, Edit edit) {
    Path bad = good.resolveSibling("bad-" + expected.replace(' ', '-') + ".safetensors");
    rewrite(good, bad, edit);
    BadInputException e = assertThrows(BadInputException.class, () -> BinaryMask.read(bad));
    assertTrue(
        e.getMessage().contains(expected) && e.getMessage().contains(bad.toString()),
        e.getMessage());
  }

  /** Copies a mask file with edited metadata and indices, re-encoding the indices as gaps. */
  private static void rewrite(Path src, Path dst, Edit edit) {
    Map<String, String> md;
    Map<String, int[]> idx = new LinkedHashMap<>();
    try (SafeTensors st = SafeTensors.open(src)) {
      md = new LinkedHashMap<>(st.metadata());
      for (String key : st.keys()) {
        IntBuffer b = st.bytes(key).asIntBuffer();
        int[] v = new int[b.remaining()];
        for (int j = 0; j < v.length; j++) {
          v[j] = j == 0 ? b.get(0) : v[j - 1] + b.get(j);
        }
        idx.put(key, v);
      }
    }
    edit.apply(md, idx);
    SafeTensorsWriter w = new SafeTensorsWriter().metadata(md);
    idx.forEach(
        (key, v) -> {
          int[] gaps = new int[v.length];
          for (int j = 0; j < v.length; j++) {
            gaps[j] = j == 0 ? v[0] : v[j] - v[j - 1];
          }
          w.putInts(key, new long[] {gaps.length}, gaps);
        });
    w.write(dst);
  }

  private static String editParams(Map<String, String> md, String key, String shapeJson) {
    try {
      ObjectNode params = (ObjectNode) JSON.readTree(md.get("params"));
      ((ObjectNode) params.get(key)).set("shape", (ArrayNode) JSON.readTree(shapeJson));
      return params.toString();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

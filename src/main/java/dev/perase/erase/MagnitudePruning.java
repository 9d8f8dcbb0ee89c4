package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.model.nn.Param;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Global magnitude pruning (Han et al. 2015) as the paper's Pre-Prune and Post-Prune use it (§4.5):
 * of all elements of the selected tensors together, the {@code k = round(ratio · n)} of smallest
 * |w| are set to zero. Ties at the threshold are broken deterministically: tensors in selection
 * (model) order, then flat row-major index, the earlier first.
 *
 * <p>The k-th smallest |w| is found without sorting (SD's non-cross-attn selection has 800 M
 * elements): the bit patterns of non-negative floats order like the floats, so a two-level radix
 * select on the 31 bits of |w| (a histogram of the high 16 bits, then of the low 15 bits inside the
 * bucket that holds the k-th element) finds the threshold in two passes over the tensors, and a
 * third pass lists the pruned indices. The heap holds one tensor's values at a time.
 */
public final class MagnitudePruning {
  /** The file of the pruned elements (a {@link BinaryMask}) beside {@code weights.safetensors}. */
  public static final String MASK_OUTPUT = "prune-mask.safetensors";

  /** When a method prunes by magnitude. */
  public enum When {
    /** No magnitude pruning. */
    NEVER,
    /** Pre-Prune: prune the base weights, keep them at zero while fine-tuning the rest. */
    BEFORE,
    /** Post-Prune: fine-tune, then prune the fine-tuned weights. */
    AFTER
  }

  private static final int LOW_BITS = 15;

  private MagnitudePruning() {}

  /** Number of elements a ratio prunes among {@code n}: {@code round(ratio · n)}, half up. */
  public static long count(double ratio, long n) {
    return Math.round(ratio * n);
  }

  /**
   * The pruned elements of every parameter of {@code params} (each listed, possibly with none): the
   * {@link #count} of smallest |w| over all of them, ties by tensor order then flat index.
   */
  public static Map<String, BinaryMask.Pruned> select(List<Param> params, double ratio) {
    long n = 0;
    for (Param p : params) {
      n += p.numel();
    }
    long k = count(ratio, n);
    Map<String, BinaryMask.Pruned> out = new LinkedHashMap<>();
    if (k == 0) {
      for (Param p : params) {
        out.put(p.name(), new BinaryMask.Pruned(shape(p), p.kind(), new int[0]));
      }
      return out;
    }
    // 1. high 16 bits: the bucket that holds the k-th smallest |w|
    long[] high = new long[1 << 16];
    for (Param p : params) {
      for (float v : p.value().toFloatArray()) {
        high[magnitudeBits(v) >>> LOW_BITS]++;
      }
    }
    int h = 0;
    long below = 0;
    while (below + high[h] < k) {
      below += high[h++];
    }
    // 2. low 15 bits inside that bucket: the threshold T itself
    long[] low = new long[1 << LOW_BITS];
    for (Param p : params) {
      for (float v : p.value().toFloatArray()) {
        int bits = magnitudeBits(v);
        if (bits >>> LOW_BITS == h) {
          low[bits & ((1 << LOW_BITS) - 1)]++;
        }
      }
    }
    int l = 0;
    while (below + low[l] < k) {
      below += low[l++];
    }
    int threshold = (h << LOW_BITS) | l;
    long ties = k - below; // elements equal to T that are pruned, the first ones in order
    // 3. every |w| < T, and the first `ties` with |w| = T
    for (Param p : params) {
      float[] v = p.value().toFloatArray();
      int[] idx = new int[16];
      int m = 0;
      for (int i = 0; i < v.length; i++) {
        int bits = magnitudeBits(v[i]);
        if (bits < threshold || (bits == threshold && ties > 0)) {
          if (bits == threshold) {
            ties--;
          }
          if (m == idx.length) {
            idx = Arrays.copyOf(idx, Math.min(v.length, 2 * m));
          }
          idx[m++] = i;
        }
      }
      int[] all = Arrays.copyOf(idx, m);
      out.put(p.name(), new BinaryMask.Pruned(shape(p), p.kind(), all));
    }
    return out;
  }

  /**
   * Keep masks (false at the pruned elements), one BOOLEAN tensor per parameter with at least one
   * pruned element, in {@code manager}.
   */
  public static Map<Param, NDArray> keepMasks(
      List<Param> params, Map<String, BinaryMask.Pruned> pruned, NDManager manager) {
    Map<Param, NDArray> out = new LinkedHashMap<>();
    for (Param p : params) {
      BinaryMask.Pruned pr = pruned.get(p.name());
      if (pr == null || pr.count() == 0) {
        continue;
      }
      boolean[] keep = new boolean[Math.toIntExact(p.numel())];
      Arrays.fill(keep, true);
      for (int i : pr.indices()) {
        keep[i] = false;
      }
      out.put(p, manager.create(keep, new Shape(shape(p))));
    }
    return out;
  }

  /** Sets the pruned elements of each parameter to zero, in place (W ← W ⊙ keep). */
  public static void zero(Map<Param, NDArray> keepMasks) {
    for (Map.Entry<Param, NDArray> e : keepMasks.entrySet()) {
      e.getKey().value().muli(e.getValue());
    }
  }

  /** The magnitude pruning as a mask file's content (T and τ NaN: no soft mask is involved). */
  public static BinaryMask mask(
      Map<String, BinaryMask.Pruned> pruned, String baseModelHash, EraseSettings settings) {
    MaskMetadata md =
        new MaskMetadata(
            baseModelHash,
            settings.selection(),
            settings.method().json(),
            Double.NaN,
            Double.NaN,
            settings.concept(),
            MaskMetadata.currentVersion(),
            settings.toJson());
    return BinaryMask.of(md, pruned);
  }

  /** The bits of |v| as a non-negative int, ordered like |v| (NaN above every number). */
  static int magnitudeBits(float v) {
    return Float.floatToRawIntBits(v) & 0x7fffffff;
  }

  private static long[] shape(Param p) {
    return p.value().getShape().getShape();
  }
}

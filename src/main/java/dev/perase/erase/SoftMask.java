package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.tensor.StepScope;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The trainable soft mask of paper §3.3 (Eq. 6–7): one float32 logit tensor {@code s} per selected
 * parameter W, of W's shape, and the mask {@code m = sigmoid(T · s)} multiplied into W through the
 * masking hook ({@link Param#effective()} returns {@code W ⊙ m}). Only {@code s} is trained (with
 * the torch-exact {@link dev.perase.tensor.AdamW} over {@link #logits()}); W never changes. After
 * training, {@link #toBinary} discretises to the hard mask {@code 1[m > τ]}.
 *
 * <p>Use per training step, inside the step's scope:
 *
 * <pre>
 *   try (StepScope step = StepScope.open(base, new NDList(mask.logits()))) {
 *     mask.install(step.manager());     // E = W ⊙ σ(T·s), leaves that collect ∂L/∂E
 *     try (GradientCollector gc = engine.newGradientCollector()) {
 *       gc.backward(objective(...));    // the model reads E; withMasksOff gives θ*
 *     }
 *     adamW.step(mask::gradient);       // ∂L/∂s formed per tensor from ∂L/∂E
 *     mask.uninstall();
 *   }
 * </pre>
 *
 * <p>float32 pitfall (see {@link MaskSettings}): {@code sigmoid(10 s)} is exactly 1.0 in float32
 * once s exceeds about 1.66, and its gradient is then exactly 0; s₀ = 1 (m₀ = 0.99995) keeps every
 * element trainable, while s₀ = 2 would freeze the whole mask at 1.
 *
 * <p>With a pruning budget ({@link MaskSettings#pruneRatio()}), the k = ⌈ρ·n⌉ lowest logits form
 * the budget (ties at the k-th value broken by tensor and element order where it matters, in the
 * hard mask): each install finds the k-th lowest logit s_k, and only elements with s ≤ s_k are
 * attenuated (E = W ⊙ m); the others are installed as W ⊙ 1. {@link #gradient} is unchanged, so
 * every logit keeps learning (straight-through).
 */
public final class SoftMask implements AutoCloseable {
  private final Selection selection;
  private final MaskSettings settings;
  private final List<Param> params;
  private final List<NDArray> logits;
  private final NDManager manager;
  private final long elements;
  private final long budget;
  private NDArray[] installed;

  /**
   * ∂L/∂s of the installed products whose gradients were complete before the optimiser step ({@link
   * #gradientsComplete}), by parameter index; null where not formed yet.
   */
  private NDArray[] formed;

  /** Whether {@link #gradientsComplete} forms ∂L/∂s early; tests switch it off to compare. */
  static volatile boolean formEarly = true;

  /** s_k of the current logits, once found (see {@link #logitsChanged}). */
  private float knownBudgetLogit;

  private boolean budgetLogitKnown;

  private SoftMask(
      Selection selection,
      MaskSettings settings,
      List<Param> params,
      List<NDArray> logits,
      NDManager manager) {
    this.selection = selection;
    this.settings = settings;
    this.params = params;
    this.logits = logits;
    this.manager = manager;
    long n = 0;
    for (Param p : params) {
      n += p.numel();
    }
    this.elements = n;
    this.budget = settings.budget(n);
  }

  /**
   * Creates logits s = s₀ (float32; their gradient comes from {@link #gradient}, not autograd) for
   * every parameter {@code selection} picks from {@code model}, in a sub-manager of {@code parent}
   * that {@link #close()} frees. A selection that picks nothing is a {@link BadInputException}.
   */
  public static SoftMask create(
      ParamSet model, Selection selection, MaskSettings settings, NDManager parent) {
    List<Param> selected = selection.selectSome(model);
    NDManager m = parent.newSubManager();
    List<NDArray> s = new ArrayList<>(selected.size());
    for (Param p : selected) {
      NDArray logit =
          m.full(p.value().getShape(), (float) settings.initialLogit(), DataType.FLOAT32);
      s.add(logit);
    }
    return new SoftMask(
        selection, settings, List.copyOf(selected), Collections.unmodifiableList(s), m);
  }

  public Selection selection() {
    return selection;
  }

  public MaskSettings settings() {
    return settings;
  }

  /** The masked parameters, in the model's load order. */
  public List<Param> params() {
    return params;
  }

  /** The logits s, one per entry of {@link #params()}: the tensors to optimise. */
  public List<NDArray> logits() {
    return logits;
  }

  /** The logits under their parameter's full key (for checkpoints). */
  public Map<String, NDArray> namedLogits() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      out.put(params.get(i).name(), logits.get(i));
    }
    return out;
  }

  /** Number of mask elements (= selected parameter elements). */
  public long elementCount() {
    return elements;
  }

  /**
   * Installs the mask for one pass: for each selected parameter, {@code E = W ⊙ σ(T·s)} formed in
   * {@code step} with no gradient recorded, as a leaf that requires gradient, read by the layers
   * through {@link Param#effective()}. σ(T·s) is freed at once, so beyond the logits and the
   * optimizer state a step keeps only E and, after backward, its gradient (8 B per masked element
   * in float32): {@link #gradient} then forms ∂L/∂s from ∂L/∂E one tensor at a time. Installing
   * again replaces this mask's previous install; a parameter holding another mask (a hard mask) is
   * an error.
   */
  public void install(NDManager step) {
    for (int i = 0; i < params.size(); i++) {
      Param p = params.get(i);
      if (p.mask() != null
          || (p.maskedValue() != null && (installed == null || p.maskedValue() != installed[i]))) {
        throw new IllegalStateException(
            p.name() + " already has another mask; remove it before installing a soft mask");
      }
    }
    uninstall();
    float sk = budget < elements ? budgetLogit() : Float.NaN;
    NDArray[] products = new NDArray[params.size()];
    for (int i = 0; i < params.size(); i++) {
      Param p = params.get(i);
      try (NDManager tmp = step.newSubManager()) {
        NDArray m = mask(logits.get(i), tmp);
        if (!Float.isNaN(sk)) {
          // outside the budget (s > s_k) the weight is used whole: max(m, 1) = 1
          NDArray outside = logits.get(i).gt(sk);
          outside.attach(tmp);
          m = m.maximum(outside.toType(DataType.FLOAT32, false));
        }
        // mask first, as the hook's product W ⊙ m: the same float32 values
        NDArray w = p.valueF32();
        NDArray e = m.mul(w);
        p.release(w);
        e.attach(step);
        products[i] = e;
      }
      products[i].setRequiresGradient(true);
      p.setMaskedValue(products[i]);
    }
    installed = products;
    formed = new NDArray[params.size()];
  }

  /**
   * Forms ∂L/∂s ({@link #gradient}) of the parameters whose key starts with one of {@code
   * keyPrefixes}, whose gradients a checkpointed backward says are complete, and frees their
   * products E: 4 B per masked element that no later segment reads. With every segment so handled a
   * step's peak holds the logits, the AdamW moments and either E or ∂L/∂s per element (16 B) beside
   * one segment's E and ∂L/∂E, instead of every E and ∂L/∂E at once (20 B). The values are those
   * formed at the optimiser step, bit for bit.
   */
  public void gradientsComplete(List<String> keyPrefixes) {
    if (installed == null || !formEarly) {
      return;
    }
    for (int i = 0; i < params.size(); i++) {
      if (formed[i] == null && startsWithAny(params.get(i).name(), keyPrefixes)) {
        formed[i] = form(i);
        installed[i].close();
      }
    }
  }

  private static boolean startsWithAny(String key, List<String> prefixes) {
    for (String prefix : prefixes) {
      if (key.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /**
   * ∂L/∂s of parameter {@code i} after a backward pass through the installed products: autograd's
   * own chain through {@code E = m ⊙ W}, {@code m = σ(z)}, {@code z = T·s} in its float32 order,
   * {@code ((∂L/∂E · W) · (1 − m)) · m · T}, so the result equals the gradient autograd gives s
   * when it records the whole chain (bit for bit). Formed in place in E's gradient (or taken as
   * {@link #gradientsComplete} formed it); the caller closes it.
   */
  public NDArray gradient(int i) {
    if (installed == null) {
      throw new IllegalStateException("no mask installed");
    }
    NDArray early = formed[i];
    if (early != null) {
      formed[i] = null;
      return early;
    }
    return form(i);
  }

  private NDArray form(int i) {
    NDArray g = installed[i].getGradient();
    try (NDManager tmp = g.getManager().newSubManager()) {
      NDArray m = mask(logits.get(i), tmp);
      NDArray oneMinusM = m.neg().addi(1f);
      Param p = params.get(i);
      NDArray w = p.valueF32();
      g.muli(w);
      p.release(w);
      g.muli(oneMinusM).muli(m).muli(tmp.create((float) settings.temperature()));
    }
    return g;
  }

  /** The parameters whose ∂L/∂E after a backward pass holds a NaN or an infinity. */
  public List<String> nonFiniteGradients() {
    if (installed == null) {
      throw new IllegalStateException("no mask installed");
    }
    List<String> bad = new ArrayList<>();
    for (int i = 0; i < params.size(); i++) {
      // a non-finite ∂L/∂E gives a non-finite ∂L/∂s (NaN or ∞ times anything is not finite)
      boolean ok;
      if (formed[i] != null) {
        ok = finite(formed[i]);
      } else {
        try (NDArray g = installed[i].getGradient()) {
          ok = finite(g);
        }
      }
      if (!ok) {
        bad.add(params.get(i).name());
      }
    }
    return bad;
  }

  /** Whether every element of {@code g} is finite (its sum is). */
  static boolean finite(NDArray g) {
    try (NDArray sum = g.sum()) {
      return Float.isFinite(sum.getFloat());
    }
  }

  /** The installed products not yet freed by {@link #gradientsComplete} (for tests). */
  int liveProducts() {
    int n = 0;
    for (int i = 0; installed != null && i < installed.length; i++) {
      n += formed[i] == null && !installed[i].isReleased() ? 1 : 0;
    }
    return n;
  }

  /** Removes the installed products and frees them: the model reads the plain weights W again. */
  public void uninstall() {
    if (installed == null) {
      return;
    }
    for (int i = 0; i < params.size(); i++) {
      if (params.get(i).maskedValue() == installed[i]) {
        params.get(i).setMaskedValue(null);
      }
      installed[i].close();
      if (formed[i] != null) {
        formed[i].close();
      }
    }
    installed = null;
    formed = null;
  }

  public boolean isInstalled() {
    return installed != null;
  }

  /** Mean of m over every mask element (1 at the start, falling as elements are pruned). */
  public double mean() {
    return stats().mean();
  }

  /** Logits per group of the statistics pass: few ops per step, bounded scratch memory. */
  static final long STATS_GROUP_ELEMENTS = 1L << 24;

  /**
   * The mask's mean and its pruned count at the settings' τ (m = σ(T·s), pruned where ¬(m > τ)),
   * for the training log: over the logits concatenated in groups of about 16 M elements, a handful
   * of ops per group instead of per tensor (the world's UNet has hundreds of small tensors), and
   * bounded scratch memory (SD's selections have hundreds of millions of elements).
   */
  public Stats stats() {
    return stats(STATS_GROUP_ELEMENTS, budget < elements ? budgetLogit() : Float.NaN);
  }

  /** {@link #stats()} with groups of {@code groupElements} and s_k found afresh (for tests). */
  Stats stats(long groupElements) {
    return stats(groupElements, budget < elements ? budgetLogit(groupElements) : Float.NaN);
  }

  private Stats stats(long groupElements, float sk) {
    double[] sum = {0};
    long[] counts = new long[3]; // pruned below s_k (or all pruned), below s_k, at s_k
    forGroups(
        groupElements,
        (flat, sm) -> {
          NDArray m = mask(flat, sm);
          sum[0] += m.toType(DataType.FLOAT64, false).sum().getDouble();
          NDArray pruned = pruned(m, settings.threshold());
          if (Float.isNaN(sk)) {
            counts[0] += pruned.countNonzero().getLong();
          } else {
            NDArray below = flat.lt(sk);
            counts[0] += pruned.logicalAnd(below).countNonzero().getLong();
            counts[1] += below.countNonzero().getLong();
            counts[2] += flat.eq(sk).countNonzero().getLong();
          }
        });
    long pruned = counts[0];
    if (!Float.isNaN(sk) && prunedAt(sk)) {
      pruned += Math.min(budget - counts[1], counts[2]);
    }
    return new Stats(sum[0] / elements, pruned);
  }

  /** The logits concatenated in groups of about {@code groupElements}, each in its own scope. */
  private void forGroups(long groupElements, BiConsumer<NDArray, NDManager> action) {
    NDList all = new NDList(logits.toArray(new NDArray[0]));
    int i = 0;
    while (i < all.size()) {
      try (StepScope scope = StepScope.open(manager, all)) {
        NDManager sm = scope.manager();
        NDList group = new NDList();
        long n = 0;
        while (i < all.size() && (group.isEmpty() || n + all.get(i).size() <= groupElements)) {
          n += all.get(i).size();
          group.add(all.get(i++).flatten());
        }
        action.accept(group.size() == 1 ? group.get(0) : NDArrays.concat(group, 0), sm);
      }
    }
  }

  /** The number of elements the mask may prune: ⌈ρ·n⌉ with a budget, else every element. */
  public long budget() {
    return budget;
  }

  /**
   * The k-th lowest logit s_k, k = {@link #budget()} (ignoring NaN logits), found once for the
   * current logits: a step's installs and its log share it.
   */
  public float budgetLogit() {
    if (!budgetLogitKnown) {
      knownBudgetLogit = budgetLogit(STATS_GROUP_ELEMENTS);
      budgetLogitKnown = true;
    }
    return knownBudgetLogit;
  }

  /** Says that the logits were changed (by an optimiser step), so s_k must be found again. */
  public void logitsChanged() {
    budgetLogitKnown = false;
  }

  /**
   * Bisection over the float32 values in their order as integers: at most 32 counting passes, and
   * the exact k-th value, with no sort of all n logits (SD's selections have hundreds of millions).
   */
  float budgetLogit(long groupElements) {
    float[] range = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
    forGroups(
        groupElements,
        (flat, sm) -> {
          range[0] = Math.min(range[0], flat.min().getFloat());
          range[1] = Math.max(range[1], flat.max().getFloat());
        });
    int lo = orderKey(range[0]);
    int hi = orderKey(range[1]);
    // invariant: count(s ≤ value(hi)) ≥ k; find the smallest such key
    while (lo < hi) {
      int mid = (int) (((long) lo + hi) >> 1);
      float x = fromOrderKey(mid);
      long[] n = {0};
      forGroups(groupElements, (flat, sm) -> n[0] += flat.lte(x).countNonzero().getLong());
      if (n[0] >= budget) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return fromOrderKey(lo);
  }

  /** A float32's bits as an int that orders as the floats do (−0 before +0). */
  static int orderKey(float f) {
    int b = Float.floatToRawIntBits(f);
    return b >= 0 ? b : b ^ 0x7fffffff;
  }

  static float fromOrderKey(int k) {
    return Float.intBitsToFloat(k >= 0 ? k : k ^ 0x7fffffff);
  }

  private boolean prunedAt(float s) {
    return !(MaskSettings.sigmoidF32((float) settings.temperature() * s) > settings.threshold());
  }

  /**
   * @param mean mean of m = sigmoid(T·s) over all mask elements
   * @param pruned elements whose hard mask 1[m > τ] is 0
   */
  public record Stats(double mean, long pruned) {}

  /** Elements whose hard mask at the settings' τ (and within the budget) is 0. */
  public long prunedCount() {
    return budget < elements ? stats().pruned() : prunedCount(settings.threshold());
  }

  /** Elements whose hard mask {@code 1[m > τ]} is 0 (m ≤ τ), ignoring any budget. */
  public long prunedCount(double tau) {
    long n = 0;
    for (NDArray s : logits) {
      try (NDManager tmp = manager.newSubManager()) {
        n += pruned(mask(s, tmp), tau).countNonzero().getLong();
      }
    }
    return n;
  }

  /**
   * The hard mask {@code 1[m > τ]} at the settings' τ, as a {@link BinaryMask} whose metadata
   * records the selection, T and τ of this mask and the given run details. With a budget of k, only
   * the k lowest logits can be pruned: those below s_k, then those at s_k in tensor and element
   * order until k are taken.
   *
   * @param baseModelHash hash of the model the mask was trained on
   * @param method e.g. {@code p-esd}
   * @param concept the erased concept
   * @param settingsJson every setting of the run, as a JSON object
   */
  public BinaryMask toBinary(
      String baseModelHash, String method, String concept, String settingsJson) {
    MaskMetadata meta =
        MaskMetadata.forSoftMask(baseModelHash, selection, settings, method, concept, settingsJson);
    boolean limited = budget < elements;
    float sk = limited ? budgetLogit() : Float.NaN;
    long ties = 0;
    if (limited && prunedAt(sk)) {
      long[] below = {0};
      forGroups(
          STATS_GROUP_ELEMENTS, (flat, sm) -> below[0] += flat.lt(sk).countNonzero().getLong());
      ties = budget - below[0];
    }
    Map<String, BinaryMask.Pruned> pruned = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      try (NDManager tmp = manager.newSubManager()) {
        Param p = params.get(i);
        NDArray s = logits.get(i).flatten();
        s.attach(tmp);
        NDArray hard = pruned(mask(s, tmp), settings.threshold());
        int[] idx;
        if (!limited) {
          idx = indices(hard);
        } else {
          int[] lower = indices(hard.logicalAnd(s.lt(sk)));
          int[] at = ties > 0 ? indices(s.eq(sk)) : new int[0];
          int take = (int) Math.min(ties, at.length);
          ties -= take;
          idx = new int[lower.length + take];
          System.arraycopy(lower, 0, idx, 0, lower.length);
          System.arraycopy(at, 0, idx, lower.length, take);
          java.util.Arrays.sort(idx);
        }
        pruned.put(p.name(), new BinaryMask.Pruned(p.value().getShape().getShape(), p.kind(), idx));
      }
    }
    return BinaryMask.of(meta, pruned);
  }

  /** The flat indices of a boolean vector's true elements. */
  private static int[] indices(NDArray flags) {
    long[] flat = flags.nonzero().toLongArray(); // (k, 1) int64
    int[] idx = new int[flat.length];
    for (int j = 0; j < flat.length; j++) {
      idx[j] = Math.toIntExact(flat[j]);
    }
    return idx;
  }

  /** Uninstalls and frees the logits. */
  @Override
  public void close() {
    uninstall();
    manager.close();
  }

  /**
   * m = sigmoid(T · s) in {@code target}: the 0-d T is created there and comes first, so the result
   * lands in {@code target} whatever manager s is attached to.
   */
  private NDArray mask(NDArray s, NDManager target) {
    return Activation.sigmoid(target.create((float) settings.temperature()).mul(s));
  }

  /** Boolean 1 − 1[m > τ]: written as ¬(m > τ), not m ≤ τ, so a NaN logit counts as pruned too. */
  private static NDArray pruned(NDArray m, double tau) {
    return m.gt((float) tau).logicalNot();
  }
}

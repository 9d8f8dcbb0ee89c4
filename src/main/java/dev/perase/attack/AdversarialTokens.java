package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.BadInputException;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.tensor.AdamW;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The discrete prompt optimisation shared by UnlearnDiff and P4D: k adversarial tokens held as
 * relaxed one-hot rows p (k × V, V the vocabulary), each on the probability simplex over the
 * allowed tokens.
 *
 * <ul>
 *   <li>start: every row uniform over the allowed tokens (the UnlearnDiff code's 1/V, projected);
 *   <li>forward: the text encoder reads {@link #input} (k × V) times the token-embedding table at
 *       the adversarial positions ({@link Relaxation});
 *   <li>update ({@link #update}): {@code torch.optim.Adam(lr, weight_decay)} — g ← g + λ p, then
 *       Adam (the torch-exact {@link AdamW} with its decoupled decay off) — and every row projected
 *       back onto the simplex ({@link SimplexProjection});
 *   <li>evaluation: {@link #tokenIds} takes each row's argmax (ties to the lowest id).
 * </ul>
 *
 * The Adam state persists across a prompt's attempts, as in the UnlearnDiff code: attempt j starts
 * where attempt j − 1 stopped.
 */
public final class AdversarialTokens {
  private final int k;
  private final int vocab;
  private final boolean[] allowed;
  private final Relaxation relaxation;
  private final double weightDecay;
  private final NDArray rows; // (k, V), requires gradient
  private final AdamW adam;

  /**
   * Rows uniform over the allowed tokens, in {@code manager}.
   *
   * @param allowed per token id, whether an adversarial token may take it ({@link #allowedTokens})
   */
  public AdversarialTokens(
      int k,
      boolean[] allowed,
      Relaxation relaxation,
      double learningRate,
      double weightDecay,
      NDManager manager) {
    if (k < 1) {
      throw new IllegalArgumentException("k = " + k);
    }
    this.k = k;
    this.vocab = allowed.length;
    this.allowed = allowed.clone();
    this.relaxation = relaxation;
    this.weightDecay = weightDecay;
    int n = 0;
    for (boolean a : allowed) {
      n += a ? 1 : 0;
    }
    if (n == 0) {
      throw new BadInputException("every token of the vocabulary is excluded from the attack");
    }
    float[] init = new float[k * vocab];
    for (int r = 0; r < k; r++) {
      for (int v = 0; v < vocab; v++) {
        init[r * vocab + v] = allowed[v] ? 1f / n : 0f;
      }
    }
    rows = manager.create(init, new Shape(k, vocab));
    rows.setRequiresGradient(true);
    // torch.optim.Adam's defaults: betas (0.9, 0.999), eps 1e-8; its weight decay is an L2 term
    // added to the gradient in update(), so AdamW's decoupled decay is 0
    adam = new AdamW(List.of(rows), manager, learningRate, 0.9, 0.999, 1e-8, 0.0);
  }

  /**
   * Which token ids an adversarial token may take: every id but the special tokens (start, end,
   * padding) and the tokens of {@code excludedWords}. A word's tokens are the pieces of its BPE
   * split that hold a letter or digit, each also in its word-inner form (without {@code </w>}) when
   * the vocabulary has it.
   */
  public static boolean[] allowedTokens(CLIPTokenizer tokenizer, List<String> excludedWords) {
    boolean[] allowed = new boolean[tokenizer.vocabSize()];
    Arrays.fill(allowed, true);
    for (long id : excludedIds(tokenizer, excludedWords)) {
      allowed[(int) id] = false;
    }
    return allowed;
  }

  /** The ids {@link #allowedTokens} excludes, sorted. */
  public static List<Long> excludedIds(CLIPTokenizer tokenizer, List<String> excludedWords) {
    TreeSet<Long> ids = new TreeSet<>();
    ids.add(tokenizer.bosId());
    ids.add(tokenizer.eosId());
    ids.add(tokenizer.padId());
    for (String word : excludedWords) {
      for (String piece : tokenizer.tokenize(word)) {
        String bare = piece.endsWith("</w>") ? piece.substring(0, piece.length() - 4) : piece;
        if (!bare.codePoints().anyMatch(Character::isLetterOrDigit)) {
          continue;
        }
        addIfKnown(tokenizer, piece, ids);
        addIfKnown(tokenizer, bare, ids);
      }
    }
    return new ArrayList<>(ids);
  }

  private static void addIfKnown(CLIPTokenizer tokenizer, String token, TreeSet<Long> ids) {
    try {
      ids.add(tokenizer.idOf(token));
    } catch (BadInputException e) {
      // not in the vocabulary: nothing to exclude
    }
  }

  public int k() {
    return k;
  }

  public int vocabSize() {
    return vocab;
  }

  public Relaxation relaxation() {
    return relaxation;
  }

  /** The relaxed rows, (k, V); they require gradients. */
  public NDArray rows() {
    return rows;
  }

  /** A copy of the rows, row by row. */
  public float[][] rowValues() {
    float[] flat = rows.toFloatArray();
    float[][] out = new float[k][];
    for (int r = 0; r < k; r++) {
      out[r] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
    }
    return out;
  }

  /** Whether token {@code id} may be taken. */
  public boolean allowed(long id) {
    return id >= 0 && id < vocab && allowed[(int) id];
  }

  /**
   * What the text encoder reads at the adversarial positions, (k, V), inside gradient recording:
   * for {@link Relaxation#SOFT} the rows; for {@link Relaxation#SAMPLED} h + (p − sg(p)) — the
   * value of a one-hot h drawn from the rows with {@code sampleSeed}, the gradient reaching p as
   * the identity (clipped in {@link #update}).
   */
  public NDArray input(long sampleSeed, NDManager scope) {
    if (relaxation == Relaxation.SOFT) {
      return rows;
    }
    float[] flat = rows.toFloatArray();
    float[] hot = new float[k * vocab];
    SplittableRandom rng = new SplittableRandom(sampleSeed);
    for (int r = 0; r < k; r++) {
      hot[r * vocab + sample(flat, r * vocab, rng.nextDouble())] = 1f;
    }
    NDArray h = scope.create(hot, new Shape(k, vocab));
    // rows first: the sum lands in the step scope that rows are temp-attached to
    return rows.sub(rows.stopGradient()).add(h);
  }

  /**
   * The first allowed token whose cumulative probability passes u (the last positive one at worst).
   */
  private int sample(float[] flat, int offset, double u) {
    double total = 0;
    for (int v = 0; v < vocab; v++) {
      total += flat[offset + v];
    }
    double target = u * total;
    double cum = 0;
    int last = -1;
    for (int v = 0; v < vocab; v++) {
      float p = flat[offset + v];
      if (p > 0 && allowed[v]) {
        cum += p;
        last = v;
        if (cum > target) {
          return v;
        }
      }
    }
    return last;
  }

  /**
   * One update from the gradient that a backward pass left on the rows: (sampled: clip to [−1, 1])
   * g ← g + λ p, Adam, projection of every row onto the simplex; the gradient is zeroed after.
   */
  public void update() {
    float[] p = rows.toFloatArray();
    try (NDArray g = rows.getGradient()) {
      float[] grad = g.toFloatArray();
      float decay = (float) weightDecay;
      for (int i = 0; i < grad.length; i++) {
        float gi = grad[i];
        if (!Float.isFinite(gi)) {
          throw new IllegalStateException(
              "the gradient reaching the adversarial tokens is "
                  + gi
                  + " (token "
                  + i % vocab
                  + ")");
        }
        if (relaxation == Relaxation.SAMPLED) {
          gi = Math.max(-1f, Math.min(1f, gi)); // hardtanh
        }
        grad[i] = gi + decay * p[i]; // torch.optim.Adam: grad = grad.add(param, alpha=weight_decay)
      }
      overwrite(g, grad);
    }
    adam.step();
    adam.zeroGrad();
    float[] next = rows.toFloatArray();
    float[] row = new float[vocab];
    for (int r = 0; r < k; r++) {
      System.arraycopy(next, r * vocab, row, 0, vocab);
      SimplexProjection.project(row, allowed);
      System.arraycopy(row, 0, next, r * vocab, vocab);
    }
    overwrite(rows, next);
  }

  /**
   * Writes {@code values} into {@code target}'s own storage by in-place arithmetic. (DJL's {@code
   * NDArray.set(Buffer)} repoints the tensor at a Java buffer instead of copying into it: on a
   * gradient handle that buffer dies with the handle, leaving the gradient on freed memory.)
   */
  private static void overwrite(NDArray target, float[] values) {
    try (NDArray v = target.getManager().create(values, target.getShape())) {
      target.muli(0).addi(v);
    }
  }

  /** The argmax projection: per row the allowed token with the largest weight (ties: lowest id). */
  public long[] tokenIds() {
    float[] flat = rows.toFloatArray();
    long[] ids = new long[k];
    for (int r = 0; r < k; r++) {
      int best = -1;
      for (int v = 0; v < vocab; v++) {
        if (allowed[v] && (best < 0 || flat[r * vocab + v] > flat[r * vocab + best])) {
          best = v;
        }
      }
      ids[r] = best;
    }
    return ids;
  }
}

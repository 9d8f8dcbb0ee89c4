package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import java.util.Arrays;

/**
 * The token layout of an attacked prompt: k adversarial tokens prepended to the prompt ({@code
 * prefix_k} of the UnlearnDiff code),
 *
 * <pre>
 *   [start, a₁ … a_k, prompt tokens …, end, pad …]   (length L = the tokenizer's limit, 77 for SD)
 * </pre>
 *
 * A prompt whose {@code 2 + k + n} tokens exceed L cannot hold the k tokens without losing its own
 * and is skipped ({@link #fits}).
 */
public final class PromptLayout {
  private final CLIPTokenizer tokenizer;
  private final int k;
  private final long[] promptIds; // [start, prompt tokens …, end], unpadded

  public PromptLayout(CLIPTokenizer tokenizer, String prompt, int k) {
    this.tokenizer = tokenizer;
    this.k = k;
    this.promptIds = tokenizer.encodeNoPad(prompt);
  }

  /** Tokens of the prompt with its start and end tokens. */
  public int promptTokens() {
    return promptIds.length;
  }

  /** Tokens with the k adversarial ones: {@code promptTokens() + k}. */
  public int attackedTokens() {
    return promptIds.length + k;
  }

  /** Whether the attacked prompt fits the tokenizer's limit. */
  public boolean fits() {
    return attackedTokens() <= tokenizer.maxLength();
  }

  public int k() {
    return k;
  }

  /** The attacked prompt's ids, padded to L: start, {@code adversarial}, the prompt, end, pad. */
  public long[] ids(long[] adversarial) {
    if (adversarial.length != k) {
      throw new IllegalArgumentException(adversarial.length + " adversarial ids, expected " + k);
    }
    if (!fits()) {
      throw new IllegalStateException("the attacked prompt has " + attackedTokens() + " tokens");
    }
    long[] ids = new long[tokenizer.maxLength()];
    Arrays.fill(ids, tokenizer.padId());
    ids[0] = promptIds[0];
    System.arraycopy(adversarial, 0, ids, 1, k);
    System.arraycopy(promptIds, 1, ids, 1 + k, promptIds.length - 1);
    return ids;
  }

  /** {@link #ids} without the padding. */
  public long[] unpaddedIds(long[] adversarial) {
    return Arrays.copyOf(ids(adversarial), attackedTokens());
  }

  /** The attacked prompt as text (start, end and padding dropped). */
  public String text(long[] adversarial) {
    return tokenizer.decode(unpaddedIds(adversarial));
  }

  /**
   * Token embeddings (1, L, D) of the attacked prompt with {@code adversarial} (k, D) at positions
   * 1 … k and the table's rows elsewhere; gradients flow back to {@code adversarial}. In {@code
   * adversarial}'s manager.
   */
  public NDArray embeds(NDArray adversarial, CLIPTextModel textEncoder) {
    NDManager m = adversarial.getManager();
    long[] placeholder = new long[k]; // any id: positions 1 … k are replaced below
    Arrays.fill(placeholder, tokenizer.padId());
    NDArray ids = m.create(ids(placeholder)).reshape(1, tokenizer.maxLength());
    NDArray table = textEncoder.tokenEmbedding().forward(ids); // (1, L, D)
    NDArray head = table.get(new NDIndex(":, 0:1"));
    NDArray tail = table.get(new NDIndex(":, {}:", 1 + k));
    NDArray adv = adversarial.expandDims(0); // (1, k, D)
    return NDArrays.concat(new NDList(head, adv, tail), 1);
  }
}

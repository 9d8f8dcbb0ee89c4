package dev.perase.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Embedding;
import dev.perase.model.nn.Weights;

/**
 * transformers' {@code CLIPTextEmbeddings}: token embedding plus learned absolute position
 * embedding, {@code e = token_embedding(ids) + position_embedding(0 … L−1)}.
 */
public final class CLIPTextEmbeddings {
  public final Embedding tokenEmbedding;
  public final Embedding positionEmbedding;
  private final int maxPositionEmbeddings;

  CLIPTextEmbeddings(Weights w, CLIPTextConfig config) {
    tokenEmbedding =
        Embedding.load(w.child("token_embedding"), config.vocabSize(), config.hiddenSize());
    positionEmbedding =
        Embedding.load(
            w.child("position_embedding"), config.maxPositionEmbeddings(), config.hiddenSize());
    maxPositionEmbeddings = config.maxPositionEmbeddings();
    // transformers < 4.31 saved the buffer position_ids = arange(P)[None]; later versions ignore it
    // when loading and always use 0 … L−1, and so do we (some converted checkpoints hold it as
    // floats with rounding damage).
    if (w.has("position_ids")) {
      w.buffer("position_ids", 1, maxPositionEmbeddings);
    }
  }

  /** ids (B, L) → token embeddings plus positions, (B, L, D). */
  public NDArray forward(NDArray inputIds) {
    return addPositions(tokenEmbedding.forward(inputIds));
  }

  /** Token embeddings (B, L, D), e.g. a relaxed one-hot times the table, plus positions. */
  public NDArray addPositions(NDArray tokenEmbeds) {
    long length = tokenEmbeds.getShape().get(1);
    if (length > maxPositionEmbeddings) {
      throw new BadInputException(
          "a sequence of "
              + length
              + " tokens is longer than the text encoder's "
              + maxPositionEmbeddings
              + " positions");
    }
    NDArray positionIds =
        tokenEmbeds.getManager().arange(0, (int) length, 1, DataType.INT64).reshape(1, length);
    return tokenEmbeds.add(positionEmbedding.forward(positionIds)); // (B, L, D) + (1, L, D)
  }
}

package dev.perase.model.clip;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * transformers' {@code CLIPTextConfig}, read from {@code text_encoder/config.json}; keys the file
 * omits take transformers' defaults, unknown keys (projection_dim, dropout, initializer settings)
 * are ignored.
 *
 * @param eosTokenId picks the pooled position: 2 (the legacy value of early SD configs) means "the
 *     position of the largest id", any other value "the first position holding this id"
 */
public record CLIPTextConfig(
    int hiddenSize,
    int intermediateSize,
    int numAttentionHeads,
    int numHiddenLayers,
    int maxPositionEmbeddings,
    int vocabSize,
    String hiddenAct,
    double layerNormEps,
    long eosTokenId) {

  public CLIPTextConfig {
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_hidden_layers", numHiddenLayers);
    positive("max_position_embeddings", maxPositionEmbeddings);
    positive("vocab_size", vocabSize);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new BadInputException(
          "hidden_size "
              + hiddenSize
              + " is not divisible by num_attention_heads "
              + numAttentionHeads);
    }
    if (!"quick_gelu".equals(hiddenAct) && !"gelu".equals(hiddenAct)) {
      throw new BadInputException(
          "hidden_act '"
              + hiddenAct
              + "' is not supported (CLIP text encoders use 'quick_gelu'"
              + " or 'gelu')");
    }
    if (!(layerNormEps > 0)) {
      throw new BadInputException("layer_norm_eps must be positive, got " + layerNormEps);
    }
  }

  /** From config.json: absent keys take transformers' {@code CLIPTextConfig} defaults. */
  @JsonCreator
  static CLIPTextConfig fromJson(
      @JsonProperty("hidden_size") Integer hiddenSize,
      @JsonProperty("intermediate_size") Integer intermediateSize,
      @JsonProperty("num_attention_heads") Integer numAttentionHeads,
      @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
      @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
      @JsonProperty("vocab_size") Integer vocabSize,
      @JsonProperty("hidden_act") String hiddenAct,
      @JsonProperty("layer_norm_eps") Double layerNormEps,
      @JsonProperty("eos_token_id") Long eosTokenId) {
    return new CLIPTextConfig(
        hiddenSize == null ? 512 : hiddenSize,
        intermediateSize == null ? 2048 : intermediateSize,
        numAttentionHeads == null ? 8 : numAttentionHeads,
        numHiddenLayers == null ? 12 : numHiddenLayers,
        maxPositionEmbeddings == null ? 77 : maxPositionEmbeddings,
        vocabSize == null ? 49408 : vocabSize,
        hiddenAct == null ? "quick_gelu" : hiddenAct,
        layerNormEps == null ? 1e-5 : layerNormEps,
        eosTokenId == null ? 49407L : eosTokenId);
  }

  /** Per-head width d = hidden_size / num_attention_heads. */
  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new BadInputException(key + " must be positive, got " + value);
    }
  }
}

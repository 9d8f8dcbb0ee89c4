package dev.perase.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Embedding;
import dev.perase.model.nn.LayerNorm;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Weights;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * transformers' {@code CLIPTextModel} (4.45), the text encoder of Stable Diffusion v1: token and
 * position embeddings, {@code num_hidden_layers} pre-norm transformer blocks under a causal mask
 * (SD v1 passes no padding mask: every position attends to itself and the positions before it), and
 * a final layer norm. Its {@code last_hidden_state} (B, 77, D) is the UNet's {@code
 * encoder_hidden_states}.
 *
 * <p>transformers nests the blocks as {@code text_model} ({@code CLIPTextTransformer}) → {@code
 * encoder} ({@code CLIPEncoder}) → {@code layers}; this class holds them directly, under the same
 * dotted keys ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}, …).
 */
public final class CLIPTextModel {
  private static final String PREFIX = "text_model";
  private static final String POSITION_IDS = PREFIX + ".embeddings.position_ids";

  /** The outputs of one call, as transformers names them. */
  public record Output(NDArray lastHiddenState, NDArray poolerOutput, List<NDArray> hiddenStates) {}

  private final CLIPTextConfig config;
  private final ParamSet params;
  public final CLIPTextEmbeddings embeddings;
  public final List<CLIPEncoderLayer> layers;
  public final LayerNorm finalLayerNorm;

  private CLIPTextModel(CLIPTextConfig config, StateDict dict) {
    this.config = config;
    this.params = dict.params();
    Weights w = dict.root().child(PREFIX);
    embeddings = new CLIPTextEmbeddings(w.child("embeddings"), config);
    Weights encoderLayers = w.child("encoder").child("layers");
    // not presized: a config's num_hidden_layers of 2^31 − 1 must end at the first missing layer's
    // key, not in an OutOfMemoryError
    List<CLIPEncoderLayer> list = new ArrayList<>();
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      list.add(new CLIPEncoderLayer(encoderLayers.child(i), config));
    }
    layers = Collections.unmodifiableList(list);
    float eps = (float) config.layerNormEps();
    finalLayerNorm = LayerNorm.load(w.child("final_layer_norm"), config.hiddenSize(), eps);
  }

  /**
   * Loads {@code config.json} and {@code model.safetensors} (F32, F16 or BF16, computed in float32)
   * from a diffusers {@code text_encoder} folder into {@code manager}. A pickle {@code
   * pytorch_model.bin} is refused.
   */
  public static CLIPTextModel load(Path textEncoderDir, NDManager manager) {
    CLIPTextConfig config = Json.read(textEncoderDir.resolve("config.json"), CLIPTextConfig.class);
    Path file = textEncoderDir.resolve("model.safetensors");
    if (!Files.isRegularFile(file)) {
      Path bin = textEncoderDir.resolve("pytorch_model.bin");
      if (Files.exists(bin)) {
        SafeTensors.refusePickle(bin);
      }
      throw new BadInputException("missing " + file);
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      Map<String, NDArray> tensors = new LinkedHashMap<>();
      ByteBuffer scratch = st.scratch();
      for (String key : st.keys()) {
        // the old int64 position_ids buffer is the one tensor that need not be floating
        if (!key.equals(POSITION_IDS) && !st.info(key).dtype().isFloat()) {
          throw new BadInputException(
              file
                  + ": tensor '"
                  + key
                  + "' is "
                  + st.info(key).dtype()
                  + ", but model weights must be F32, F16 or BF16");
        }
        tensors.put(key, st.load(key, manager, scratch));
      }
      return fromStateDict(config, new StateDict(file.toString(), tensors));
    }
  }

  /**
   * Builds the model from a state dict with transformers' keys; strict: a missing key or a wrong
   * shape names the key, and so does a key the model does not use.
   */
  public static CLIPTextModel fromStateDict(CLIPTextConfig config, StateDict dict) {
    CLIPTextModel model = new CLIPTextModel(config, dict);
    dict.requireAllUsed();
    return model;
  }

  /** input ids (B, L) int → last_hidden_state (B, L, D), the SD conditioning. */
  public NDArray forward(NDArray inputIds) {
    checkIds(inputIds);
    return run(embeddings.forward(inputIds), false).get(0);
  }

  /** input ids (B, L) → last_hidden_state, pooler_output and every hidden state. */
  public Output forwardAll(NDArray inputIds) {
    long[] ids = checkIds(inputIds);
    return output(run(embeddings.forward(inputIds), true), ids, inputIds.getShape());
  }

  /**
   * Token embeddings (B, L, D) given directly, e.g. relaxed one-hots times {@link
   * #tokenEmbedding()}'s table (gradients flow back to them) → last_hidden_state (B, L, D).
   * Positions are added here, as for ids.
   */
  public NDArray forwardEmbeds(NDArray tokenEmbeds) {
    checkEmbeds(tokenEmbeds);
    return run(embeddings.addPositions(tokenEmbeds), false).get(0);
  }

  /**
   * {@link #forwardEmbeds} with every output; {@code inputIdsForPooling} (B, L) are the ids the
   * embeddings stand for, used only to find the pooled (end-of-text) position.
   */
  public Output forwardAllEmbeds(NDArray tokenEmbeds, NDArray inputIdsForPooling) {
    checkEmbeds(tokenEmbeds);
    Shape s = inputIdsForPooling.getShape();
    if (s.dimension() != 2
        || s.get(0) != tokenEmbeds.getShape().get(0)
        || s.get(1) != tokenEmbeds.getShape().get(1)) {
      throw new IllegalArgumentException(
          "ids for pooling have shape " + s + ", expected " + tokenEmbeds.getShape().slice(0, 2));
    }
    long[] ids = inputIdsForPooling.toType(DataType.INT64, false).toLongArray();
    return output(run(embeddings.addPositions(tokenEmbeds), true), ids, s);
  }

  /** The token embedding table (vocab, D), for relaxed one-hot look-ups. */
  public Embedding tokenEmbedding() {
    return embeddings.tokenEmbedding;
  }

  /** Every parameter under its full dotted key, with the model-wide mask switch. */
  public ParamSet params() {
    return params;
  }

  public CLIPTextConfig config() {
    return config;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The encoder over embeddings (B, L, D): returns [last_hidden_state] or, with {@code keepAll},
   * [last_hidden_state, hidden_states.0 … hidden_states.N] (0 = embeddings, i = after layer i,
   * before the final layer norm).
   */
  private NDList run(NDArray hidden, boolean keepAll) {
    int len = (int) hidden.getShape().get(1);
    NDArray mask = causalMask(hidden.getManager(), len);
    NDList all = new NDList();
    if (keepAll) {
      all.add(hidden);
    }
    for (CLIPEncoderLayer layer : layers) {
      hidden = layer.forward(hidden, mask);
      if (keepAll) {
        all.add(hidden);
      }
    }
    NDList out = new NDList(finalLayerNorm.forward(hidden));
    out.addAll(all);
    return out;
  }

  private Output output(NDList run, long[] ids, Shape idShape) {
    NDArray last = run.get(0);
    List<NDArray> hiddenStates = List.copyOf(run.subList(1, run.size()));
    int b = (int) idShape.get(0);
    int len = (int) idShape.get(1);
    NDList pooled = new NDList(b);
    for (int i = 0; i < b; i++) {
      pooled.add(last.get(new NDIndex("{}, {}", i, poolPosition(ids, i * len, len))));
    }
    return new Output(last, NDArrays.stack(pooled), hiddenStates);
  }

  /**
   * The pooled position of one row, as transformers: with the legacy {@code eos_token_id == 2} the
   * position of the largest id (CLIP's end token has the largest id), else the first position
   * holding {@code eos_token_id} (0 when there is none, as torch's argmax of an all-zero row).
   */
  private int poolPosition(long[] ids, int offset, int len) {
    int best = 0;
    for (int j = 0; j < len; j++) {
      long id = ids[offset + j];
      if (config.eosTokenId() == 2) {
        if (id > ids[offset + best]) {
          best = j;
        }
      } else if (id == config.eosTokenId()) {
        return j;
      }
    }
    return best;
  }

  /** (L, L) additive mask: 0 on and below the diagonal, the lowest float above (transformers). */
  private static NDArray causalMask(NDManager manager, int len) {
    float[] m = new float[len * len];
    for (int i = 0; i < len; i++) {
      Arrays.fill(m, i * len + i + 1, (i + 1) * len, -Float.MAX_VALUE);
    }
    return manager.create(m, new Shape(len, len));
  }

  private long[] checkIds(NDArray inputIds) {
    if (inputIds.getShape().dimension() != 2) {
      throw new IllegalArgumentException(
          "input ids must have shape (batch, length), got " + inputIds.getShape());
    }
    long[] ids = inputIds.toType(DataType.INT64, false).toLongArray();
    for (long id : ids) {
      if (id < 0 || id >= config.vocabSize()) {
        throw new BadInputException(
            "token id "
                + id
                + " is outside the text encoder's vocabulary of "
                + config.vocabSize()
                + " tokens (tokenizer and text encoder do not match)");
      }
    }
    return ids;
  }

  private void checkEmbeds(NDArray tokenEmbeds) {
    Shape s = tokenEmbeds.getShape();
    if (s.dimension() != 3 || s.get(2) != config.hiddenSize()) {
      throw new IllegalArgumentException(
          "token embeddings must have shape (batch, length, "
              + config.hiddenSize()
              + "), got "
              + s);
    }
  }
}

package dev.perase.model.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.StateDict;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CLIPTextModelTest {
  private static final String WEIGHTS = "model.safetensors";

  private static Path textEncoder() {
    return Fixtures.tinySd().resolve("text_encoder");
  }

  @Test
  void textEncoderMatchesTransformers() throws IOException {
    try (NDManager m = Torch.newManager();
        SafeTensors ref = SafeTensors.open(Fixtures.reference("text_encoder.safetensors"))) {
      CLIPTextModel model = CLIPTextModel.load(textEncoder(), m);
      NDArray ids = ref.load("input_ids", m);

      // the reference ids are our tokenizer's ids for the reference prompts
      CLIPTokenizer tok = CLIPTokenizer.load(Fixtures.tinySd().resolve("tokenizer"));
      JsonNode index = Json.MAPPER.readTree(Fixtures.reference("index.json").toFile());
      List<String> prompts = new ArrayList<>();
      index.get("text_encoder_prompts").forEach(p -> prompts.add(p.asText()));
      long[][] ours = tok.encode(prompts);
      for (int i = 0; i < ours.length; i++) {
        assertArrayEquals(ids.get(i).toLongArray(), ours[i], "ids of prompt " + i);
      }

      CLIPTextModel.Output out = model.forwardAll(ids);
      StringBuilder report = new StringBuilder("text encoder max abs diff:");
      Consumer<String> check =
          name -> {
            NDArray expected = ref.load(name, m);
            NDArray actual =
                switch (name) {
                  case "last_hidden_state" -> out.lastHiddenState();
                  case "pooler_output" -> out.poolerOutput();
                  case "token_embeddings" -> model.tokenEmbedding().forward(ids);
                  default ->
                      out.hiddenStates()
                          .get(Integer.parseInt(name.substring("hidden_states.".length())));
                };
            report.append(String.format(" %s %.2e", name, Fixtures.maxAbsDiff(expected, actual)));
            Fixtures.assertClose(expected, actual, Fixtures.MODEL_CALL_ABS, name);
          };
      check.accept("token_embeddings");
      check.accept("last_hidden_state");
      check.accept("pooler_output");
      assertEquals(model.config().numHiddenLayers() + 1, out.hiddenStates().size());
      for (int i = 0; i < out.hiddenStates().size(); i++) {
        check.accept("hidden_states." + i);
      }
      System.out.println(report);
      Fixtures.assertClose(
          out.lastHiddenState(), model.forward(ids), 0, "forward = forwardAll.lastHiddenState");
    }
  }

  @Test
  void forwardEmbedsEqualsForwardAndPassesGradients() {
    try (NDManager m = Torch.newManager()) {
      CLIPTextModel model = CLIPTextModel.load(textEncoder(), m);
      CLIPTokenizer tok = CLIPTokenizer.load(Fixtures.tinySd().resolve("tokenizer"));
      NDArray ids = m.create(tok.encode(List.of("a photo of a cat", "by vincent van gogh")));
      NDArray expected = model.forward(ids);

      NDArray viaTable = model.forwardEmbeds(model.tokenEmbedding().forward(ids));
      Fixtures.assertClose(expected, viaTable, 0, "forwardEmbeds(token embeddings)");

      // relaxed one-hots over the vocabulary, as the prompt attacks feed them
      NDArray oneHot = ids.oneHot(model.config().vocabSize()).toType(DataType.FLOAT32, false);
      oneHot.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray hidden = model.forwardEmbeds(model.tokenEmbedding().forwardSoft(oneHot));
        double d = Fixtures.maxAbsDiff(expected, hidden);
        System.out.printf("forwardEmbeds(one-hot × table) vs forward: max abs diff %.2e%n", d);
        Fixtures.assertClose(expected, hidden, Fixtures.MODEL_CALL_ABS, "forwardEmbeds(one-hot)");
        gc.backward(hidden.square().sum());
      }
      NDArray grad = oneHot.getGradient();
      assertEquals(new Shape(2, 77, model.config().vocabSize()), grad.getShape());
      assertTrue(grad.abs().sum().getFloat() > 0, "no gradient reached the one-hots");

      CLIPTextModel.Output all = model.forwardAll(ids);
      CLIPTextModel.Output allEmbeds =
          model.forwardAllEmbeds(model.tokenEmbedding().forward(ids), ids);
      Fixtures.assertClose(all.poolerOutput(), allEmbeds.poolerOutput(), 0, "pooler via embeds");
    }
  }

  @Test
  void poolerTakesFirstEosUnlessLegacyEosIdTwo() {
    try (NDManager m = Torch.newManager();
        SafeTensors st = SafeTensors.open(textEncoder().resolve(WEIGHTS))) {
      CLIPTextConfig legacy = Json.read(textEncoder().resolve("config.json"), CLIPTextConfig.class);
      assertEquals(2, legacy.eosTokenId());
      CLIPTextConfig modern =
          new CLIPTextConfig(
              legacy.hiddenSize(),
              legacy.intermediateSize(),
              legacy.numAttentionHeads(),
              legacy.numHiddenLayers(),
              legacy.maxPositionEmbeddings(),
              legacy.vocabSize(),
              legacy.hiddenAct(),
              legacy.layerNormEps(),
              320);
      CLIPTextModel model = CLIPTextModel.fromStateDict(modern, StateDict.load(st, m));
      // ids: bos, "a" (320), "a", eos, pads → first 320 at position 1; legacy argmax → position 3
      long[] row = new long[77];
      java.util.Arrays.fill(row, 49407);
      row[0] = 49406;
      row[1] = 320;
      row[2] = 320;
      NDArray ids = m.create(row).reshape(1, 77);
      CLIPTextModel.Output out = model.forwardAll(ids);
      Fixtures.assertClose(
          out.lastHiddenState().get("0, 1"), out.poolerOutput().get(0), 0, "first eos_token_id");

      CLIPTextModel legacyModel = CLIPTextModel.fromStateDict(legacy, StateDict.load(st, m));
      CLIPTextModel.Output legacyOut = legacyModel.forwardAll(ids);
      Fixtures.assertClose(
          legacyOut.lastHiddenState().get("0, 3"),
          legacyOut.poolerOutput().get(0),
          0,
          "legacy: position of the largest id");
    }
  }

  @Test
  void strictLoadingNamesTheKey() {
    try (NDManager m = Torch.newManager();
        SafeTensors st = SafeTensors.open(textEncoder().resolve(WEIGHTS))) {
      CLIPTextConfig config = Json.read(textEncoder().resolve("config.json"), CLIPTextConfig.class);
      String key = "text_model.encoder.layers.3.self_attn.k_proj.bias";

      Map<String, NDArray> missing = tensors(st, m);
      missing.remove(key);
      assertRejected(config, missing, key);

      Map<String, NDArray> wrongShape = tensors(st, m);
      wrongShape.put(key, m.zeros(new Shape(33)));
      assertRejected(config, wrongShape, key);

      Map<String, NDArray> extra = tensors(st, m);
      extra.put("text_model.encoder.layers.5.mlp.fc1.bias", m.zeros(new Shape(37)));
      assertRejected(config, extra, "text_model.encoder.layers.5.mlp.fc1.bias");

      // the position_ids buffer of older checkpoints is accepted, consumed and not needed
      Map<String, NDArray> withBuffer = tensors(st, m);
      withBuffer.put(
          "text_model.embeddings.position_ids", m.arange(0, 77, 1, DataType.INT64).reshape(1, 77));
      CLIPTextModel model = CLIPTextModel.fromStateDict(config, new StateDict("test", withBuffer));
      CLIPTextModel plain =
          CLIPTextModel.fromStateDict(config, new StateDict("test", tensors(st, m)));
      NDArray ids = m.create(new long[] {49406, 320, 2368, 49407}).reshape(1, 4);
      Fixtures.assertClose(plain.forward(ids), model.forward(ids), 0, "with position_ids buffer");
      assertEquals(
          plain.params().named().keySet(), model.params().named().keySet(), "parameter keys");
      assertEquals(84, plain.params().named().size());
    }
  }

  @Test
  void badConfigAndPickleAreRefused(@TempDir Path dir) throws IOException {
    String config = Files.readString(textEncoder().resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), config.replace("\"quick_gelu\"", "\"relu\""));
    Files.copy(textEncoder().resolve(WEIGHTS), dir.resolve(WEIGHTS));
    try (NDManager m = Torch.newManager()) {
      BadInputException e = assertThrows(BadInputException.class, () -> CLIPTextModel.load(dir, m));
      assertTrue(
          e.getMessage().contains("hidden_act") && e.getMessage().contains("relu"), e.getMessage());
      assertTrue(e.getMessage().contains("config.json"), e.getMessage());

      Files.writeString(
          dir.resolve("config.json"),
          config.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"));
      e = assertThrows(BadInputException.class, () -> CLIPTextModel.load(dir, m));
      assertTrue(e.getMessage().contains("num_attention_heads"), e.getMessage());

      Files.writeString(dir.resolve("config.json"), config);
      Files.move(dir.resolve(WEIGHTS), dir.resolve("pytorch_model.bin"));
      e = assertThrows(BadInputException.class, () -> CLIPTextModel.load(dir, m));
      assertTrue(e.getMessage().contains("pytorch_model.bin"), e.getMessage());
      assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
    }
  }

  private static Map<String, NDArray> tensors(SafeTensors st, NDManager m) {
    Map<String, NDArray> t = new LinkedHashMap<>();
    for (String k : st.keys()) {
      t.put(k, st.load(k, m));
    }
    return t;
  }

  private static void assertRejected(CLIPTextConfig config, Map<String, NDArray> t, String key) {
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> CLIPTextModel.fromStateDict(config, new StateDict("test", t)));
    assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
  }
}

package dev.perase.model.unet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UNet2DConditionModelTest {
  private static NDManager manager;
  private static UNet2DConditionModel unet;

  @BeforeAll
  static void loadTinyUnet() {
    manager = Torch.newManager();
    unet = UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), manager);
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  /**
   * Inference without gradients runs layer by layer (each layer's intermediates freed when it
   * ends); with taps the UNet runs as one forward: the same operations in the same order, so the
   * same values bit for bit, also at a side the upsamplers must resize to.
   */
  @Test
  void layerByLayerInferenceIsThePlainForwardBitForBit() {
    for (int side : new int[] {16, 15}) {
      try (NDManager m = manager.newSubManager()) {
        Torch.seed(3);
        NDArray sample = m.randomNormal(new Shape(2, 4, side, side));
        NDArray text = m.randomNormal(new Shape(2, 77, 32));
        NDArray t = m.create(new float[] {401f, 21f});
        float[] byLayers = unet.forward(sample, t, text).toFloatArray();
        float[] plain = unet.forward(sample, t, text, (name, value) -> {}).toFloatArray();
        assertArrayEquals(plain, byLayers, "side " + side);
      }
    }
  }

  @Test
  void unetNoisePredictionMatchesDiffusers() {
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("unet.safetensors"));
        NDManager m = manager.newSubManager()) {
      NDArray sample = ref.load("sample", m);
      NDArray text = ref.load("encoder_hidden_states", m);
      double worst = 0;
      for (long t : ref.longs("timesteps")) {
        // a plain scalar timestep, broadcast to the batch of two latents
        NDArray pred = unet.forward(sample, m.create(t), text);
        NDArray expected = ref.load("noise_pred.t" + t, m);
        Fixtures.assertClose(expected, pred, Fixtures.MODEL_CALL_ABS, "noise_pred.t" + t);
        worst = Math.max(worst, Fixtures.maxAbsDiff(expected, pred));
        // the same call with a (B,) timestep array
        NDArray perSample = unet.forward(sample, m.create(new long[] {t, t}), text);
        assertEquals(0.0, Fixtures.maxAbsDiff(pred, perSample), "t" + t + ": (B,) vs scalar");
      }
      NDArray extra =
          unet.forward(
              ref.load("extra.sample", m),
              ref.load("extra.timestep", m),
              ref.load("extra.encoder_hidden_states", m));
      NDArray expectedExtra = ref.load("extra.noise_pred", m);
      Fixtures.assertClose(expectedExtra, extra, Fixtures.MODEL_CALL_ABS, "extra.noise_pred");
      worst = Math.max(worst, Fixtures.maxAbsDiff(expectedExtra, extra));
      System.out.println("unet noise prediction: max abs diff " + worst);
    }
  }

  @Test
  void unetActivationsMatchDiffusers() throws IOException {
    JsonNode order =
        Json.MAPPER
            .readTree(Fixtures.reference("index.json").toFile())
            .get("unet_activation_order");
    try (SafeTensors ref = SafeTensors.open(Fixtures.reference("unet_activations.safetensors"));
        NDManager m = manager.newSubManager()) {
      Map<String, NDArray> taps = new LinkedHashMap<>();
      NDArray pred =
          unet.forward(
              ref.load("sample", m),
              ref.load("timestep", m),
              ref.load("encoder_hidden_states", m),
              (name, value) -> assertTrue(taps.put(name, value) == null, "tapped twice: " + name));
      Fixtures.assertClose(ref.load("noise_pred", m), pred, Fixtures.MODEL_CALL_ABS, "noise_pred");

      // every act.* tensor, within the single-call tolerance
      int compared = 0;
      double worst = 0;
      String worstKey = "";
      for (String key : ref.keys()) {
        if (!key.startsWith("act.")) {
          continue;
        }
        String module = key.substring("act.".length());
        assertTrue(taps.containsKey(module), "no tap for " + module);
        NDArray expected = ref.load(key, m);
        Fixtures.assertClose(expected, taps.get(module), Fixtures.MODEL_CALL_ABS, key);
        double d = Fixtures.maxAbsDiff(expected, taps.get(module));
        if (d > worst) {
          worst = d;
          worstKey = key;
        }
        compared++;
      }
      assertEquals(order.size(), compared, "act.* tensors vs unet_activation_order");

      // taps arrive in diffusers' execution order (the order of index.json), conv2 inputs and
      // attention probabilities aside
      List<String> expectedOrder = new ArrayList<>();
      order.forEach(e -> expectedOrder.add(e.get("module").asText()));
      List<String> recorded = new ArrayList<>();
      for (String name : taps.keySet()) {
        if (!name.endsWith(".conv2_input") && !name.endsWith(Attention.PROBS_TAP)) {
          recorded.add(name);
        }
      }
      assertEquals(expectedOrder, recorded);

      // one probability map per cross attention (attn2), none for self attention: (B, heads, N,
      // M) with every row a distribution over the M text tokens
      int crossAttentions = 0;
      int probTaps = 0;
      for (String name : taps.keySet()) {
        probTaps += name.endsWith(Attention.PROBS_TAP) ? 1 : 0;
      }
      NDArray context = ref.load("encoder_hidden_states", m);
      for (String path : expectedOrder) {
        NDArray probs = taps.get(path + Attention.PROBS_TAP);
        if (!path.endsWith("attn2")) {
          assertTrue(probs == null, "self attention should report no probabilities: " + path);
          continue;
        }
        crossAttentions++;
        assertTrue(probs != null, "no attention_probs tap for " + path);
        long[] s = probs.getShape().getShape();
        assertEquals(4, s.length, path);
        assertEquals(context.getShape().get(0), s[0], path);
        assertEquals(context.getShape().get(1), s[3], path);
        NDArray rowSums = probs.sum(new int[] {-1});
        assertTrue(rowSums.sub(1f).abs().max().getFloat() < 1e-5, "rows should sum to 1: " + path);
        assertTrue(probs.min().getFloat() >= 0, path);
      }
      assertTrue(crossAttentions > 0, "the fixture has cross attentions");
      assertEquals(crossAttentions, probTaps);

      // one conv2 input per ResnetBlock2D, shaped like the block's output
      int resnets = 0;
      for (JsonNode e : order) {
        if (e.get("class").asText().equals("ResnetBlock2D")) {
          String path = e.get("module").asText();
          NDArray c2 = taps.get(path + ".conv2_input");
          assertTrue(c2 != null, "no conv2_input tap for " + path);
          assertArrayEquals(taps.get(path).getShape().getShape(), c2.getShape().getShape());
          resnets++;
        }
      }
      assertEquals(resnets, taps.size() - recorded.size() - probTaps);
      System.out.println(
          "unet activations: "
              + compared
              + " tensors, max abs diff "
              + worst
              + " ("
              + worstKey
              + ")");
    }
  }

  @Test
  void oddSizedLatentsUpsampleToTheSkipSizes() {
    try (NDManager m = manager.newSubManager()) {
      Torch.seed(7);
      NDArray sample = m.randomNormal(new Shape(1, 4, 9, 11));
      NDArray text = m.randomNormal(new Shape(1, 77, 32));
      NDArray pred = unet.forward(sample, m.create(500L), text);
      assertArrayEquals(new long[] {1, 4, 9, 11}, pred.getShape().getShape());
      assertFalse(Double.isNaN(pred.sum().getFloat()));
    }
  }

  @Test
  void nearestResizeFollowsTorchIndexRule() {
    try (NDManager m = manager.newSubManager()) {
      // 5 → 9 and 3 → 6: torch picks src = min(floor(dst * in/out), in - 1)
      NDArray x = m.arange(15f).reshape(1, 1, 5, 3);
      NDArray y = Upsample2D.interpolateNearest(x, 9, 6);
      float[] got = y.toFloatArray();
      int[] rows = {0, 0, 1, 1, 2, 2, 3, 3, 4};
      int[] cols = {0, 0, 1, 1, 2, 2};
      for (int r = 0; r < 9; r++) {
        for (int c = 0; c < 6; c++) {
          assertEquals(rows[r] * 3 + cols[c], got[r * 6 + c], "(" + r + ", " + c + ")");
        }
      }
      // 3 → 5: floor(dst · 0.6) = 0, 0, 1, 1, 2
      NDArray z = Upsample2D.interpolateNearest(m.arange(3f).reshape(1, 1, 1, 3), 1, 5);
      assertArrayEquals(new float[] {0, 0, 1, 1, 2}, z.toFloatArray());
    }
  }

  @Test
  void loadingIsStrict() {
    Map<String, NDArray> base = new LinkedHashMap<>();
    UNet2DConditionConfig cfg =
        Json.read(Fixtures.tinySd().resolve("unet/config.json"), UNet2DConditionConfig.class);
    try (NDManager m = manager.newSubManager();
        SafeTensors file =
            SafeTensors.open(
                Fixtures.tinySd().resolve("unet/diffusion_pytorch_model.safetensors"))) {
      for (String k : file.keys()) {
        base.put(k, file.load(k, m));
      }
      // the unmodified dict loads
      UNet2DConditionModel.fromStateDict(cfg, new StateDict("tiny", new LinkedHashMap<>(base)));

      String missing = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
      Map<String, NDArray> lacking = new LinkedHashMap<>(base);
      lacking.remove(missing);
      assertMessageNames(missing, cfg, lacking);

      String extra = "down_blocks.0.resnets.0.extra.weight";
      Map<String, NDArray> surplus = new LinkedHashMap<>(base);
      surplus.put(extra, m.zeros(new Shape(3)));
      assertMessageNames(extra, cfg, surplus);

      String reshaped = "mid_block.resnets.1.conv1.weight";
      Map<String, NDArray> wrong = new LinkedHashMap<>(base);
      wrong.put(reshaped, m.zeros(new Shape(64, 64, 1, 1)));
      assertMessageNames(reshaped, cfg, wrong);
    }
  }

  private static void assertMessageNames(
      String key, UNet2DConditionConfig cfg, Map<String, NDArray> tensors) {
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> UNet2DConditionModel.fromStateDict(cfg, new StateDict("tiny", tensors)));
    assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
  }

  @Test
  void unknownBlockTypeIsRejected(@TempDir Path dir) throws IOException {
    String json =
        Files.readString(Fixtures.tinySd().resolve("unet/config.json"))
            .replace("\"CrossAttnDownBlock2D\"", "\"AttnDownBlock2D\"");
    Path cfg = dir.resolve("config.json");
    Files.writeString(cfg, json);
    BadInputException e =
        assertThrows(BadInputException.class, () -> Json.read(cfg, UNet2DConditionConfig.class));
    assertTrue(e.getMessage().contains("'AttnDownBlock2D'"), e.getMessage());
    assertTrue(e.getMessage().contains(cfg.toString()), e.getMessage());

    Files.writeString(cfg, "{\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"}");
    e = assertThrows(BadInputException.class, () -> Json.read(cfg, UNet2DConditionConfig.class));
    assertTrue(e.getMessage().contains("'UNetMidBlock2DSimpleCrossAttn'"), e.getMessage());

    Files.writeString(cfg, "{\"class_embed_type\": \"timestep\"}");
    e = assertThrows(BadInputException.class, () -> Json.read(cfg, UNet2DConditionConfig.class));
    assertTrue(e.getMessage().contains("class_embed_type"), e.getMessage());

    // the weights folder may only hold a pickle: refused, not unpickled
    Files.writeString(
        dir.resolve("config.json"),
        json.replace("\"AttnDownBlock2D\"", "\"CrossAttnDownBlock2D\""));
    Files.writeString(dir.resolve("diffusion_pytorch_model.bin"), "not read");
    e = assertThrows(BadInputException.class, () -> UNet2DConditionModel.load(dir, manager));
    assertTrue(e.getMessage().contains("pickle"), e.getMessage());
  }

  /**
   * SD 2's use_linear_projection: a Linear on the flattened tokens is the same map as the 1×1 conv,
   * so the fixture's proj_in/proj_out weights reshaped to (C, C) must give the same prediction.
   */
  @Test
  void linearProjectionMatchesTheConvProjection(@TempDir Path dir) throws IOException {
    Path cfgFile = dir.resolve("config.json");
    Files.writeString(
        cfgFile,
        Files.readString(Fixtures.tinySd().resolve("unet/config.json"))
            .replace("\"use_linear_projection\": false", "\"use_linear_projection\": true"));
    UNet2DConditionConfig cfg = Json.read(cfgFile, UNet2DConditionConfig.class);
    assertTrue(cfg.useLinearProjection());
    try (NDManager m = manager.newSubManager();
        SafeTensors file =
            SafeTensors.open(
                Fixtures.tinySd().resolve("unet/diffusion_pytorch_model.safetensors"));
        SafeTensors ref = SafeTensors.open(Fixtures.reference("unet_activations.safetensors"))) {
      StateDict sd = StateDict.load(file, m);
      int reshaped = 0;
      for (String k : List.copyOf(sd.keys())) {
        if (k.matches(".*attentions\\.\\d+\\.proj_(in|out)\\.weight")) {
          NDArray wt = file.load(k, m);
          sd.replace(k, wt.reshape(wt.getShape().get(0), wt.getShape().get(1)));
          reshaped++;
        }
      }
      assertEquals(2 * 6, reshaped); // proj_in and proj_out of the 6 Transformer2DModels
      UNet2DConditionModel linear = UNet2DConditionModel.fromStateDict(cfg, sd);
      NDArray pred =
          linear.forward(
              ref.load("sample", m), ref.load("timestep", m), ref.load("encoder_hidden_states", m));
      Fixtures.assertClose(
          ref.load("noise_pred", m), pred, Fixtures.MODEL_CALL_ABS, "noise_pred (linear proj)");
    }
  }

  @Test
  void configDefaultsFollowDiffusers(@TempDir Path dir) throws IOException {
    // the factory for configs built in code gives the same record as the fixture's config.json
    assertEquals(
        Json.read(Fixtures.tinySd().resolve("unet/config.json"), UNet2DConditionConfig.class),
        UNet2DConditionConfig.of(
            4,
            4,
            List.of(32, 64),
            List.of("DownBlock2D", "CrossAttnDownBlock2D"),
            List.of("CrossAttnUpBlock2D", "UpBlock2D"),
            2,
            8,
            32,
            32,
            32));

    BadInputException bad =
        assertThrows(
            BadInputException.class,
            () ->
                UNet2DConditionConfig.of(
                    4,
                    4,
                    List.of(32),
                    List.of("KDownBlock2D"),
                    List.of("UpBlock2D"),
                    1,
                    8,
                    32,
                    32,
                    32));
    assertTrue(bad.getMessage().contains("'KDownBlock2D'"), bad.getMessage());

    // an SD v1.x config that omits most keys, as old ones do
    Path cfg = dir.resolve("config.json");
    Files.writeString(
        cfg, "{\"cross_attention_dim\": 768, \"attention_head_dim\": 8, \"sample_size\": 64}");
    UNet2DConditionConfig c = Json.read(cfg, UNet2DConditionConfig.class);
    assertEquals(List.of(320, 640, 1280, 1280), c.blockOutChannels());
    assertEquals(List.of(8, 8, 8, 8), c.attentionHeadDim());
    assertEquals(List.of(768, 768, 768, 768), c.crossAttentionDim());
    assertEquals(List.of(2, 2, 2, 2), c.layersPerBlock());
    assertEquals(1280, c.timeEmbedDim());
    assertEquals(3, c.numUpsamplers());
    assertTrue(c.flipSinToCos());
    assertFalse(c.useLinearProjection());

    // SD 2: per-block head counts and linear projections
    Files.writeString(
        cfg,
        "{\"cross_attention_dim\": 1024, \"attention_head_dim\": [5, 10, 20, 20],"
            + " \"use_linear_projection\": true}");
    c = Json.read(cfg, UNet2DConditionConfig.class);
    assertEquals(20, c.heads(3));
    assertTrue(c.useLinearProjection());

    Files.writeString(cfg, "{\"num_attention_heads\": 8}");
    BadInputException e =
        assertThrows(BadInputException.class, () -> Json.read(cfg, UNet2DConditionConfig.class));
    assertTrue(e.getMessage().contains("num_attention_heads"), e.getMessage());
  }
}

package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.SingleFileCheckpoint.Target;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SingleFileCheckpointTest {
  @TempDir Path tmp;

  /** The fixture's numbers, read from its diffusers configs. */
  static LdmArchitecture tinySd() throws IOException {
    return LdmArchitecture.fromConfigs(DiffusersLayout.open(Fixtures.tinySd()));
  }

  @Test
  void singleFileKeyMapMatchesDiffusersLayout() throws IOException {
    LdmArchitecture arch = tinySd();
    assertEquals(List.of(false, true), arch.unetDownAttention());
    assertEquals(List.of(true, false), arch.unetUpAttention());
    DiffusersLayout layout = DiffusersLayout.open(Fixtures.tinySd());
    try (NDManager m = Torch.newManager()) {
      SingleFileCheckpoint.Components c =
          SingleFileCheckpoint.load(
              Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors"), arch, m);
      int total = 0;
      for (Component comp : List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER)) {
        Map<String, NDArray> converted = c.get(comp);
        try (SafeTensors ref = SafeTensors.open(layout.weights(comp))) {
          assertEquals(
              new TreeSet<>(ref.keys()), new TreeSet<>(converted.keySet()), comp.key + " key set");
          double maxDiff = 0;
          for (String k : ref.keys()) {
            NDArray a = converted.get(k);
            assertArrayEquals(ref.info(k).shape(), a.getShape().getShape(), comp.key + " " + k);
            float[] expected = ref.floats(k);
            float[] actual = a.toFloatArray();
            for (int i = 0; i < expected.length; i++) {
              maxDiff = Math.max(maxDiff, Math.abs(Half.round(expected[i]) - actual[i]));
            }
          }
          System.out.printf(
              "single-file %s: %d tensors, max |F16(diffusers) - converted| = %g%n",
              comp.key, ref.keys().size(), maxDiff);
          assertEquals(0.0, maxDiff, comp.key + ": values equal the F16-rounded diffusers values");
          total += ref.keys().size();
        }
      }
      assertEquals(512, total);
    }
  }

  @Test
  void sdV1KeyMapPlacesKnownKeys() {
    // Spot checks of SD v1.x's fixed numbering (4 levels, 2 resnets, attention at down 0-2 / up
    // 1-3).
    Map<String, String> expected =
        Map.ofEntries(
            Map.entry(
                "model.diffusion_model.input_blocks.1.1.proj_in.weight",
                "down_blocks.0.attentions.0.proj_in.weight"),
            Map.entry(
                "model.diffusion_model.input_blocks.3.0.op.weight",
                "down_blocks.0.downsamplers.0.conv.weight"),
            Map.entry(
                "model.diffusion_model.input_blocks.9.0.op.bias",
                "down_blocks.2.downsamplers.0.conv.bias"),
            Map.entry(
                "model.diffusion_model.input_blocks.11.0.out_layers.3.weight",
                "down_blocks.3.resnets.1.conv2.weight"),
            Map.entry(
                "model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight",
                "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
            Map.entry(
                "model.diffusion_model.middle_block.2.emb_layers.1.bias",
                "mid_block.resnets.1.time_emb_proj.bias"),
            Map.entry(
                "model.diffusion_model.output_blocks.2.1.conv.weight",
                "up_blocks.0.upsamplers.0.conv.weight"),
            Map.entry(
                "model.diffusion_model.output_blocks.5.2.conv.bias",
                "up_blocks.1.upsamplers.0.conv.bias"),
            Map.entry(
                "model.diffusion_model.output_blocks.8.0.skip_connection.weight",
                "up_blocks.2.resnets.2.conv_shortcut.weight"),
            Map.entry(
                "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.ff.net.2.bias",
                "up_blocks.3.attentions.2.transformer_blocks.0.ff.net.2.bias"),
            Map.entry(
                "model.diffusion_model.time_embed.2.weight", "time_embedding.linear_2.weight"),
            Map.entry("model.diffusion_model.out.0.bias", "conv_norm_out.bias"),
            Map.entry(
                "first_stage_model.decoder.up.3.upsample.conv.weight",
                "decoder.up_blocks.0.upsamplers.0.conv.weight"),
            Map.entry(
                "first_stage_model.decoder.up.0.block.2.conv1.weight",
                "decoder.up_blocks.3.resnets.2.conv1.weight"),
            Map.entry(
                "first_stage_model.encoder.down.1.block.0.nin_shortcut.bias",
                "encoder.down_blocks.1.resnets.0.conv_shortcut.bias"),
            Map.entry(
                "first_stage_model.decoder.mid.attn_1.proj_out.weight",
                "decoder.mid_block.attentions.0.to_out.0.weight"),
            Map.entry("first_stage_model.encoder.norm_out.weight", "encoder.conv_norm_out.weight"),
            Map.entry(
                "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight",
                "text_model.encoder.layers.11.mlp.fc2.weight"));
    Map<String, Target> map =
        SingleFileCheckpoint.keyMap(expected.keySet(), LdmArchitecture.sdV1(), "sd-v1.safetensors");
    expected.forEach((ldm, diffusers) -> assertEquals(diffusers, map.get(ldm).key(), ldm));
    assertEquals(
        Component.VAE, map.get("first_stage_model.decoder.mid.attn_1.proj_out.weight").component());
    assertTrue(map.get("first_stage_model.decoder.mid.attn_1.proj_out.weight").squeezeConv());
    assertFalse(map.get("first_stage_model.decoder.up.0.block.2.conv1.weight").squeezeConv());
  }

  @Test
  void skipsLdmTrainingLeftovers() {
    List<String> keys =
        List.of(
            "betas",
            "alphas_cumprod",
            "model_ema.decay",
            "model_ema.diffusion_modelinput_blocks00weight",
            "cond_stage_model.transformer.text_model.embeddings.position_ids",
            "model.diffusion_model.input_blocks.0.0.weight");
    Map<String, Target> map = SingleFileCheckpoint.keyMap(keys, LdmArchitecture.sdV1(), "x");
    assertEquals(
        List.of("model.diffusion_model.input_blocks.0.0.weight"), List.copyOf(map.keySet()));
    assertEquals("conv_in.weight", map.values().iterator().next().key());
  }

  @Test
  void unmappedKeysAreBadInputNamingTheKey() throws IOException {
    LdmArchitecture arch = tinySd();
    List<String> bad =
        List.of(
            "model.diffusion_model.input_blocks.9.0.in_layers.0.weight", // past the 2 levels
            "model.diffusion_model.input_blocks.1.1.norm.weight", // level 0 has no attention
            "model.diffusion_model.input_blocks.6.0.op.weight", // the last level has no downsampler
            "model.diffusion_model.output_blocks.0.1.foo.weight", // unknown transformer parameter
            "model.diffusion_model.output_blocks.5.1.conv.weight", // the last level has no
            // upsampler
            "model.diffusion_model.output_blocks.2.1.conv.weight", // level 0 has attention: .2.conv
            "model.diffusion_model.middle_block.3.in_layers.0.weight",
            "model.diffusion_model.label_emb.0.0.weight",
            "first_stage_model.decoder.up.0.upsample.conv.weight", // the last decoder level
            "first_stage_model.encoder.down.0.block.1.conv1.weight", // 1 resnet per level
            "first_stage_model.loss.discriminator.main.0.weight",
            "cond_stage_model.transformer.text_model.encoder.layers.5.mlp.fc1.weight", // 5 layers
            "cond_stage_model.model.token_embedding.weight",
            "lora_unet_down_blocks_0_attentions_0_proj_in.alpha");
    for (String k : bad) {
      List<String> keys = new ArrayList<>(List.of("model.diffusion_model.input_blocks.0.0.weight"));
      keys.add(k);
      BadInputException e =
          assertThrows(
              BadInputException.class, () -> SingleFileCheckpoint.keyMap(keys, arch, "ckpt"), k);
      assertTrue(e.getMessage().contains("'" + k + "'"), e.getMessage());
    }
  }

  @Test
  void loadRefusesUnknownKeyAndNamesFile() {
    Path f = tmp.resolve("odd.safetensors");
    new SafeTensorsWriter()
        .putFloats("model.diffusion_model.out.2.bias", new long[] {4}, new float[4])
        .putFloats("model.diffusion_model.extra.weight", new long[] {1}, new float[1])
        .write(f);
    try (NDManager m = Torch.newManager()) {
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () -> SingleFileCheckpoint.load(f, LdmArchitecture.sdV1(), m));
      assertTrue(e.getMessage().contains("'model.diffusion_model.extra.weight'"), e.getMessage());
      assertTrue(e.getMessage().contains("odd.safetensors"), e.getMessage());
    }
    BadInputException pickle =
        assertThrows(
            BadInputException.class,
            () -> SingleFileCheckpoint.load(tmp.resolve("sd.ckpt"), LdmArchitecture.sdV1(), null));
    assertTrue(pickle.getMessage().contains("convert"), pickle.getMessage());
  }

  @Test
  void modelHashIsTheFileSha256() {
    // sha256 recorded in the fixture's reference/index.json (single_file.sha256).
    assertEquals(
        "33efcd367c95bdeb1bf7f5e846a231cdafec3272929770f00f466a8693eb9e71",
        SingleFileCheckpoint.modelHash(
            Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors")));
  }

  @Test
  void inverseKeyMapRoundTripsEveryFixtureKeyAndSdV1Keys() throws IOException {
    DiffusersLayout layout = DiffusersLayout.open(Fixtures.tinySd());
    Map<Component, List<String>> keys = new EnumMap<>(Component.class);
    for (Component c : List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER)) {
      try (SafeTensors st = SafeTensors.open(layout.weights(c))) {
        keys.put(c, new ArrayList<>(st.keys()));
      }
    }
    LdmArchitecture arch = LdmArchitecture.fromConfigs(layout);
    SortedMap<String, Target> inverse = SingleFileCheckpoint.ldmKeyMap(keys, arch, "tiny-sd");
    assertEquals(512, inverse.size());
    try (SafeTensors ref =
        SafeTensors.open(Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors"))) {
      assertEquals(List.copyOf(ref.keys()), List.copyOf(inverse.keySet()));
    }
    Map<String, Target> forward = SingleFileCheckpoint.keyMap(inverse.keySet(), arch, "ldm");
    assertEquals(forward, inverse);

    // SD v1.x's fixed numbering, the other way round (the pairs of SingleFileCheckpointTest)
    Map<String, String> sdV1 =
        Map.of(
            "down_blocks.0.downsamplers.0.conv.weight",
                "model.diffusion_model.input_blocks.3.0.op.weight",
            "down_blocks.3.resnets.1.conv2.weight",
                "model.diffusion_model.input_blocks.11.0.out_layers.3.weight",
            "mid_block.resnets.1.time_emb_proj.bias",
                "model.diffusion_model.middle_block.2.emb_layers.1.bias",
            "up_blocks.0.upsamplers.0.conv.weight",
                "model.diffusion_model.output_blocks.2.1.conv.weight",
            "up_blocks.1.upsamplers.0.conv.bias",
                "model.diffusion_model.output_blocks.5.2.conv.bias",
            "up_blocks.2.resnets.2.conv_shortcut.weight",
                "model.diffusion_model.output_blocks.8.0.skip_connection.weight",
            "up_blocks.3.attentions.2.transformer_blocks.0.ff.net.2.bias",
                "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.ff.net.2.bias",
            "time_embedding.linear_2.weight", "model.diffusion_model.time_embed.2.weight");
    Map<String, String> sdV1Vae =
        Map.of(
            "decoder.up_blocks.0.upsamplers.0.conv.weight",
                "first_stage_model.decoder.up.3.upsample.conv.weight",
            "decoder.up_blocks.3.resnets.2.conv1.weight",
                "first_stage_model.decoder.up.0.block.2.conv1.weight",
            "encoder.down_blocks.1.resnets.0.conv_shortcut.bias",
                "first_stage_model.encoder.down.1.block.0.nin_shortcut.bias",
            "decoder.mid_block.attentions.0.to_out.0.weight",
                "first_stage_model.decoder.mid.attn_1.proj_out.weight",
            "encoder.conv_norm_out.weight", "first_stage_model.encoder.norm_out.weight");
    SortedMap<String, Target> v1 =
        SingleFileCheckpoint.ldmKeyMap(
            Map.of(
                Component.UNET,
                sdV1.keySet(),
                Component.VAE,
                sdV1Vae.keySet(),
                Component.TEXT_ENCODER,
                List.of(
                    "text_model.encoder.layers.11.mlp.fc2.weight",
                    "text_model.embeddings.position_ids")),
            LdmArchitecture.sdV1(),
            "sd-v1");
    sdV1.forEach((d, ldm) -> assertEquals(d, v1.get(ldm).key(), ldm));
    sdV1Vae.forEach((d, ldm) -> assertEquals(d, v1.get(ldm).key(), ldm));
    assertTrue(v1.get("first_stage_model.decoder.mid.attn_1.proj_out.weight").squeezeConv());
    assertEquals(
        "text_model.encoder.layers.11.mlp.fc2.weight",
        v1.get("cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight").key());
    assertFalse(
        v1.containsKey("cond_stage_model.transformer.text_model.embeddings.position_ids"),
        "position_ids, which the loader skips, is not written");
    assertEquals(sdV1.size() + sdV1Vae.size() + 1, v1.size());
  }

  @Test
  void keysWithNoPlaceInTheArchitectureAreRefusedNamingTheKey() throws IOException {
    LdmArchitecture arch = LdmArchitecture.fromConfigs(DiffusersLayout.open(Fixtures.tinySd()));
    List<Map.Entry<Component, String>> cases =
        List.of(
            Map.entry(Component.UNET, "down_blocks.0.resnets.3.norm1.weight"), // 2 per level
            Map.entry(Component.UNET, "down_blocks.0.attentions.0.norm.weight"), // no attention
            Map.entry(Component.UNET, "down_blocks.1.downsamplers.0.conv.weight"), // last level
            Map.entry(Component.UNET, "up_blocks.1.upsamplers.0.conv.weight"), // last level
            Map.entry(Component.UNET, "up_blocks.7.upsamplers.0.conv.weight"), // 2 levels
            Map.entry(Component.UNET, "class_embedding.weight"),
            Map.entry(Component.UNET, "down_blocks.0.resnets.0.nonsense.weight"),
            Map.entry(Component.VAE, "decoder.up_blocks.2.resnets.0.conv1.weight"), // 2 levels
            Map.entry(Component.VAE, "encoder.down_blocks.0.resnets.1.conv1.weight"), // 1 resnet
            Map.entry(Component.VAE, "decoder.mid_block.attentions.0.query.weight"),
            Map.entry(Component.TEXT_ENCODER, "text_model.encoder.layers.5.mlp.fc1.weight"),
            Map.entry(Component.TEXT_ENCODER, "text_projection.weight"));
    for (Map.Entry<Component, String> c : cases) {
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () ->
                  SingleFileCheckpoint.ldmKeyMap(
                      Map.of(c.getKey(), List.of(c.getValue())), arch, "folder"),
              c.getValue());
      assertTrue(e.getMessage().contains("'" + c.getValue() + "'"), e.getMessage());
      assertTrue(e.getMessage().startsWith("folder: "), e.getMessage());
    }
  }
}

package dev.perase.model.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.StateDict;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parity of {@link AutoencoderKL} with diffusers 0.30.3 on the tiny-sd fixture, and strict loading.
 */
class AutoencoderKLTest {
  private static final Path VAE_DIR = Fixtures.tinySd().resolve("vae");
  private static final Path WEIGHTS = VAE_DIR.resolve(AutoencoderKL.WEIGHTS);
  private static final String[][] OLD_NAMES = {
    {"to_q", "query"}, {"to_k", "key"}, {"to_v", "value"}, {"to_out.0", "proj_attn"}
  };

  private static NDManager manager;
  private static AutoencoderKL vae;
  private static SafeTensors ref;

  @BeforeAll
  static void loadModel() {
    manager = Torch.newManager();
    vae = AutoencoderKL.load(VAE_DIR, manager);
    ref = SafeTensors.open(Fixtures.reference("vae.safetensors"));
  }

  @AfterAll
  static void close() {
    ref.close();
    manager.close();
  }

  @Test
  void vaeDecodeMatchesDiffusers() {
    try (NDManager m = manager.newSubManager()) {
      NDArray latents = ref.load("latents", m);
      // index.json: decoded = vae.decode(latents / scaling_factor).sample
      NDArray decoded = vae.decode(latents.div(vae.scalingFactor()));
      Fixtures.assertClose(ref.load("decoded", m), decoded, Fixtures.MODEL_CALL_ABS, "decoded");
    }
  }

  @Test
  void vaeEncodeMatchesDiffusers() {
    try (NDManager m = manager.newSubManager()) {
      DiagonalGaussian posterior = vae.encode(ref.load("encode_input", m));
      NDArray mean = ref.load("encode_mean", m);
      NDArray logvar = ref.load("encode_logvar", m);
      Fixtures.assertClose(mean, posterior.mean(), Fixtures.MODEL_CALL_ABS, "encode mean");
      Fixtures.assertClose(logvar, posterior.logvar(), Fixtures.MODEL_CALL_ABS, "encode logvar");
    }
  }

  @Test
  void oldAttentionKeySpellingLoads(@TempDir Path dir) throws IOException {
    // a vae folder whose mid-block attentions use diffusers < 0.14 names and [C, C, 1, 1] weights
    Files.copy(VAE_DIR.resolve(AutoencoderKL.CONFIG), dir.resolve(AutoencoderKL.CONFIG));
    int renamed = 0;
    try (NDManager m = manager.newSubManager();
        SafeTensors file = SafeTensors.open(WEIGHTS)) {
      SafeTensorsWriter out = new SafeTensorsWriter();
      for (String key : file.keys()) {
        NDArray v = file.load(key, m);
        String oldKey = oldSpelling(key);
        if (!oldKey.equals(key)) {
          renamed++;
          if (key.endsWith(".weight")) {
            v = v.reshape(v.getShape().get(0), v.getShape().get(1), 1, 1);
          }
        }
        out.put(oldKey, v);
      }
      out.write(dir.resolve(AutoencoderKL.WEIGHTS));
    }
    assertEquals(16, renamed, "2 attentions × 4 layers × (weight, bias)");
    try (NDManager m = manager.newSubManager()) {
      AutoencoderKL old = AutoencoderKL.load(dir, m);
      assertEquals(vae.params().named().keySet(), old.params().named().keySet());
      NDArray z = smallLatent(m);
      assertEquals(
          0.0, Fixtures.maxAbsDiff(vae.decode(z), old.decode(z)), "same weights, same decode");
    }
  }

  @Test
  void convShapedAttentionWeightsLoad() {
    try (NDManager m = manager.newSubManager();
        SafeTensors file = SafeTensors.open(WEIGHTS)) {
      StateDict sd = StateDict.load(file, m);
      for (String key : sd.keys()) {
        if (key.contains(".attentions.")
            && !key.contains("group_norm")
            && key.endsWith(".weight")) {
          NDArray v = sd.tensor(key);
          sd.replace(key, v.reshape(v.getShape().get(0), v.getShape().get(1), 1, 1));
        }
      }
      AutoencoderKL conv = AutoencoderKL.fromStateDict(vae.config(), sd);
      NDArray x = ref.load("encode_input", m);
      assertEquals(
          0.0, Fixtures.maxAbsDiff(vae.encode(x).mean(), conv.encode(x).mean()), "same encode");
    }
  }

  @Test
  void missingKeyIsNamed() {
    String key = "decoder.up_blocks.1.resnets.0.conv_shortcut.bias";
    try (NDManager m = manager.newSubManager()) {
      Map<String, NDArray> t = fixtureTensors(m);
      t.remove(key);
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () -> AutoencoderKL.fromStateDict(vae.config(), new StateDict("vae.safetensors", t)));
      assertTrue(e.getMessage().contains(key), e.getMessage());
    }
  }

  @Test
  void wrongShapeIsNamed() {
    String key = "encoder.mid_block.attentions.0.to_v.weight";
    try (NDManager m = manager.newSubManager()) {
      Map<String, NDArray> t = fixtureTensors(m);
      t.put(key, m.zeros(new Shape(64, 32)));
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () -> AutoencoderKL.fromStateDict(vae.config(), new StateDict("vae.safetensors", t)));
      assertTrue(e.getMessage().contains(key), e.getMessage());
      assertTrue(e.getMessage().contains("[64, 32]"), e.getMessage());
    }
  }

  @Test
  void unusedKeyIsNamed() {
    try (NDManager m = manager.newSubManager()) {
      Map<String, NDArray> t = fixtureTensors(m);
      t.put("decoder.up_blocks.2.upsamplers.0.conv.bias", m.zeros(new Shape(32)));
      BadInputException e =
          assertThrows(
              BadInputException.class,
              () -> AutoencoderKL.fromStateDict(vae.config(), new StateDict("vae.safetensors", t)));
      assertTrue(
          e.getMessage().contains("decoder.up_blocks.2.upsamplers.0.conv.bias"), e.getMessage());

      // a config without mid-block attention leaves the attention tensors unused
      AutoencoderKLConfig c = vae.config();
      AutoencoderKLConfig noAttention =
          new AutoencoderKLConfig(
              c.inChannels(),
              c.outChannels(),
              c.latentChannels(),
              c.blockOutChannels(),
              c.downBlockTypes(),
              c.upBlockTypes(),
              c.layersPerBlock(),
              c.normNumGroups(),
              c.actFn(),
              c.scalingFactor(),
              c.useQuantConv(),
              c.usePostQuantConv(),
              false);
      BadInputException e2 =
          assertThrows(
              BadInputException.class,
              () ->
                  AutoencoderKL.fromStateDict(
                      noAttention, new StateDict("vae.safetensors", fixtureTensors(m))));
      assertTrue(e2.getMessage().contains("mid_block.attentions.0"), e2.getMessage());
    }
  }

  @Test
  void unknownBlockTypeIsRejected(@TempDir Path dir) throws IOException {
    String config = Files.readString(VAE_DIR.resolve(AutoencoderKL.CONFIG));
    Path file = dir.resolve("config.json");
    Files.writeString(
        file, config.replaceFirst("\"DownEncoderBlock2D\"", "\"AttnDownEncoderBlock2D\""));
    BadInputException e =
        assertThrows(BadInputException.class, () -> Json.read(file, AutoencoderKLConfig.class));
    assertTrue(e.getMessage().contains("'AttnDownEncoderBlock2D'"), e.getMessage());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());

    Files.writeString(file, config.replace("\"UpDecoderBlock2D\"", "\"AttnUpDecoderBlock2D\""));
    e = assertThrows(BadInputException.class, () -> AutoencoderKL.load(dir, manager));
    assertTrue(e.getMessage().contains("'AttnUpDecoderBlock2D'"), e.getMessage());

    Files.writeString(file, config.replace("\"silu\"", "\"gelu\""));
    e = assertThrows(BadInputException.class, () -> Json.read(file, AutoencoderKLConfig.class));
    assertTrue(e.getMessage().contains("act_fn 'gelu'"), e.getMessage());
  }

  @Test
  void configDefaultsFollowDiffusers(@TempDir Path dir) throws IOException {
    AutoencoderKLConfig fixture = vae.config();
    assertEquals(java.util.List.of(32, 64), fixture.blockOutChannels());
    assertEquals(1, fixture.layersPerBlock());
    assertEquals(0.18215f, vae.scalingFactor());
    assertEquals(2, vae.downsampleFactor());

    // an old config with only the architecture keys: the rest take AutoencoderKL.__init__'s
    // defaults
    Path file = dir.resolve("config.json");
    Files.writeString(
        file,
        "{\"block_out_channels\": [128, 256, 512, 512], \"down_block_types\":"
            + " [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\","
            + " \"DownEncoderBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\","
            + " \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"],"
            + " \"layers_per_block\": 2}");
    AutoencoderKLConfig c = Json.read(file, AutoencoderKLConfig.class);
    assertEquals(3, c.inChannels());
    assertEquals(3, c.outChannels());
    assertEquals(4, c.latentChannels());
    assertEquals(32, c.normNumGroups());
    assertEquals(0.18215f, c.scalingFactor());
    assertTrue(c.useQuantConv() && c.usePostQuantConv() && c.midBlockAddAttention());
    assertEquals(8, c.downsampleFactor());
  }

  @Test
  void pickleWeightsAreRefused(@TempDir Path dir) throws IOException {
    Files.copy(VAE_DIR.resolve(AutoencoderKL.CONFIG), dir.resolve(AutoencoderKL.CONFIG));
    Files.write(dir.resolve("diffusion_pytorch_model.bin"), new byte[] {0x50, 0x4b});
    BadInputException e =
        assertThrows(BadInputException.class, () -> AutoencoderKL.load(dir, manager));
    assertTrue(e.getMessage().contains("diffusion_pytorch_model.bin"), e.getMessage());
    assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
  }

  @Test
  void decodeAndEncodeLeaveOnlyTheirResults() {
    try (NDManager m = manager.newSubManager()) {
      NDArray z = smallLatent(m);
      int before = m.getManagedArrays().size();
      NDArray image = vae.decode(z);
      assertEquals(before + 1, m.getManagedArrays().size(), "decode leaves only its result");
      assertArrayEquals(new long[] {1, 3, 16, 16}, image.getShape().getShape());
      DiagonalGaussian q = vae.encode(image);
      assertEquals(before + 3, m.getManagedArrays().size(), "encode leaves only mean and logvar");
      assertArrayEquals(new long[] {1, 4, 8, 8}, q.mean().getShape().getShape());
      assertFalse(z.isReleased());
    }
  }

  @Test
  void decodeIsDifferentiableThroughItsScopes() {
    // the blocks free their intermediates; autograd must still reach the input
    try (NDManager m = manager.newSubManager()) {
      NDArray z = smallLatent(m);
      z.setRequiresGradient(true);
      try (GradientCollector gc = Torch.engine().newGradientCollector()) {
        gc.backward(vae.decode(z).sum());
      }
      NDArray grad = z.getGradient();
      assertTrue(Fixtures.maxAbs(grad) > 0, "gradient reaches the latent");
      assertFalse(grad.isInfinite().any().getBoolean() || grad.isNaN().any().getBoolean());
    }
  }

  @Test
  void sampleIsMeanPlusStdTimesSeededNoise() {
    try (NDManager m = manager.newSubManager()) {
      DiagonalGaussian q = vae.encode(ref.load("encode_input", m));
      assertNotNull(q.mode());
      assertEquals(0.0, Fixtures.maxAbsDiff(q.mean(), q.mode()));
      Torch.seed(7);
      NDArray z = q.sample(m);
      Torch.seed(7);
      NDArray eps = m.randomNormal(q.mean().getShape());
      NDArray expected = q.mean().add(q.logvar().mul(0.5f).exp().mul(eps));
      assertEquals(0.0, Fixtures.maxAbsDiff(expected, z), "z = mean + exp(logvar / 2) · ε");
      assertTrue(Fixtures.maxAbsDiff(q.mean(), z) > 0.1, "the sample is not the mean");
    }
  }

  private static NDArray smallLatent(NDManager m) {
    return ref.load("latents", m).get("0:1, :, 0:8, 0:8").div(vae.scalingFactor());
  }

  private static Map<String, NDArray> fixtureTensors(NDManager m) {
    Map<String, NDArray> t = new LinkedHashMap<>();
    try (SafeTensors file = SafeTensors.open(WEIGHTS)) {
      for (String key : file.keys()) {
        t.put(key, file.load(key, m));
      }
    }
    return t;
  }

  private static String oldSpelling(String key) {
    if (!key.contains(".mid_block.attentions.")) {
      return key;
    }
    for (String[] n : OLD_NAMES) {
      String tail = "." + n[0] + ".";
      if (key.contains(tail)) {
        return key.replace(tail, "." + n[1] + ".");
      }
    }
    return key;
  }
}

package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.SchedulerConfig.BetaSchedule;
import dev.perase.io.SchedulerConfig.TimestepSpacing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiffusersLayoutTest {
  @TempDir Path tmp;

  private static final String INDEX_HEAD = "{\"_class_name\": \"StableDiffusionPipeline\",\n";
  private static final String REQUIRED =
      "\"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
          + " \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],"
          + " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],"
          + " \"scheduler\": [\"diffusers\", \"DDIMScheduler\"]";

  @Test
  void opensFixtureFolder() {
    Path dir = Fixtures.tinySd();
    DiffusersLayout l = DiffusersLayout.open(dir);
    for (Component c : Component.values()) {
      assertTrue(l.has(c), c.key);
      assertEquals(dir.resolve(c.key), l.folder(c));
    }
    assertTrue(l.hasVae());
    assertEquals(
        dir.resolve("unet/diffusion_pytorch_model.safetensors"), l.weights(Component.UNET));
    assertEquals(dir.resolve("text_encoder/model.safetensors"), l.weights(Component.TEXT_ENCODER));
    assertEquals(dir.resolve("vae/diffusion_pytorch_model.safetensors"), l.weights(Component.VAE));
    assertEquals(dir.resolve("unet/config.json"), l.config(Component.UNET));
    assertThrows(IllegalArgumentException.class, () -> l.weights(Component.TOKENIZER));

    SchedulerConfig s = l.schedulerConfig();
    assertEquals(1000, s.numTrainTimesteps());
    assertEquals(0.00085, s.betaStart());
    assertEquals(0.012, s.betaEnd());
    assertEquals(BetaSchedule.SCALED_LINEAR, s.betaSchedule());
    assertFalse(s.clipSample());
    assertEquals(1.0, s.clipSampleRange());
    assertFalse(s.setAlphaToOne());
    assertEquals(1, s.stepsOffset());
    assertEquals(SchedulerConfig.PredictionType.EPSILON, s.predictionType());
    assertEquals(TimestepSpacing.LEADING, s.timestepSpacing());
  }

  @Test
  void modelHashIsSha256OverTheWeightsFiles() throws IOException {
    // Golden values: hashlib.sha256 over "<key>\n<len>\n" + file bytes, for unet, text_encoder[,
    // vae].
    DiffusersLayout full = DiffusersLayout.open(Fixtures.tinySd());
    String h = full.modelHash();
    assertEquals("e5dc8d197bbd82c3fa3f7eef7cef9589f9d2b59467fb25bee3858f4f6e0c470b", h);
    assertEquals(h, DiffusersLayout.open(Fixtures.tinySd()).modelHash(), "stable across opens");

    Path pixel = linkedCopy(INDEX_HEAD + REQUIRED + ", \"vae\": [null, null]}");
    assertEquals(
        "9bc518908136220c41efe97325974d8b72b0c7a7957a311b2484c573b8a5b8ed",
        DiffusersLayout.open(pixel).modelHash(),
        "no vae: unet and text encoder only");

    // One changed byte in a weights file changes the hash.
    Path edited = linkedCopy(INDEX_HEAD + REQUIRED + "}");
    Path te = edited.resolve("text_encoder");
    Files.delete(te);
    Files.createDirectory(te);
    byte[] w = Files.readAllBytes(Fixtures.tinySd().resolve("text_encoder/model.safetensors"));
    w[w.length - 1] ^= 1;
    Files.write(te.resolve("model.safetensors"), w);
    assertNotEquals(
        "9bc518908136220c41efe97325974d8b72b0c7a7957a311b2484c573b8a5b8ed",
        DiffusersLayout.open(edited).modelHash());
  }

  @Test
  void pixelSpaceModelHasNoVae() throws IOException {
    for (String vae : new String[] {"", ", \"vae\": null", ", \"vae\": [null, null]"}) {
      Path dir = linkedCopy(INDEX_HEAD + REQUIRED + vae + "}");
      DiffusersLayout l = DiffusersLayout.open(dir);
      assertFalse(l.hasVae(), vae);
      assertTrue(l.has(Component.UNET));
      BadInputException e = assertThrows(BadInputException.class, () -> l.weights(Component.VAE));
      assertTrue(e.getMessage().contains("vae"), e.getMessage());
    }
  }

  @Test
  void refusesMissingFolderIndexOrBadJson() throws IOException {
    assertBad(tmp.resolve("nowhere"), "does not exist");
    Path empty = Files.createDirectory(tmp.resolve("empty"));
    assertBad(empty, "no model_index.json");
    Path bad = Files.createDirectory(tmp.resolve("bad"));
    Files.writeString(bad.resolve("model_index.json"), "{\"unet\": [\"diffusers\", ");
    assertBad(bad, "not valid JSON");
    Files.writeString(bad.resolve("model_index.json"), "[\"unet\"]");
    assertBad(bad, "not a JSON object");
    Files.writeString(bad.resolve("model_index.json"), "{\"unet\": \"diffusers\"}");
    assertBad(bad, "[library, class]");
  }

  @Test
  void refusesMissingRequiredComponent() throws IOException {
    Path dir = linkedCopy(INDEX_HEAD + REQUIRED.replace("\"tokenizer\"", "\"tokenizer_2\"") + "}");
    assertBad(dir, "no tokenizer");
    Path noFolder =
        linkedCopy(INDEX_HEAD + REQUIRED + ", \"vae\": [\"diffusers\", \"AutoencoderKL\"]}");
    Files.delete(noFolder.resolve("vae"));
    assertBad(noFolder, "folder");
    Path noWeights = linkedCopy(INDEX_HEAD + REQUIRED + "}");
    Files.delete(noWeights.resolve("unet"));
    Files.createDirectory(noWeights.resolve("unet"));
    assertBad(noWeights, "diffusion_pytorch_model.safetensors");
  }

  @Test
  void refusesPickleWeightsWithConversionHint() throws IOException {
    Path dir = linkedCopy(INDEX_HEAD + REQUIRED + "}");
    Files.delete(dir.resolve("text_encoder"));
    Files.createDirectory(dir.resolve("text_encoder"));
    Files.write(dir.resolve("text_encoder/pytorch_model.bin"), new byte[16]);
    Files.delete(dir.resolve("unet"));
    Files.createDirectory(dir.resolve("unet"));
    Files.write(dir.resolve("unet/diffusion_pytorch_model.bin"), new byte[16]);
    BadInputException e = assertBad(dir, "pickle");
    assertTrue(e.getMessage().contains("diffusion_pytorch_model.bin"), e.getMessage());
    assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
  }

  // ---- scheduler config ----

  @Test
  void schedulerConfigTakesDiffusersDefaultsForOmittedKeys() throws IOException {
    SchedulerConfig s = scheduler("{\"_class_name\": \"PNDMScheduler\", \"skip_prk_steps\": true}");
    assertEquals(SchedulerConfig.defaults(), s);
    assertEquals(1000, s.numTrainTimesteps());
    assertEquals(0.0001, s.betaStart());
    assertEquals(0.02, s.betaEnd());
    assertEquals(BetaSchedule.LINEAR, s.betaSchedule());
    assertTrue(s.clipSample());
    assertTrue(s.setAlphaToOne());
    assertEquals(0, s.stepsOffset());
    assertEquals(TimestepSpacing.LEADING, s.timestepSpacing());

    SchedulerConfig t =
        scheduler(
            "{\"beta_schedule\": \"squaredcos_cap_v2\", \"timestep_spacing\": \"trailing\","
                + " \"trained_betas\": null, \"thresholding\": false}");
    assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, t.betaSchedule());
    assertEquals(TimestepSpacing.TRAILING, t.timestepSpacing());
    assertEquals(
        TimestepSpacing.LINSPACE,
        scheduler("{\"timestep_spacing\": \"linspace\"}").timestepSpacing());
  }

  @Test
  void schedulerConfigRoundTripsThroughJson() throws IOException {
    SchedulerConfig s =
        SchedulerConfig.read(Fixtures.tinySd().resolve("scheduler/scheduler_config.json"));
    Path f = tmp.resolve("scheduler_config.json");
    Json.write(f, s);
    String text = Files.readString(f);
    assertTrue(text.contains("\"beta_schedule\" : \"scaled_linear\""), text);
    assertEquals(s, SchedulerConfig.read(f));
  }

  /**
   * The keys a config leaves to defaults survive a JSON round trip (as diffusers' {@code
   * _use_default_values}), and keys listed there count as not set, as in from_config.
   */
  @Test
  void schedulerConfigRemembersWhichKeysTookDefaults() throws IOException {
    SchedulerConfig s = scheduler("{\"steps_offset\": 1, \"beta_schedule\": \"scaled_linear\"}");
    assertTrue(s.sets("steps_offset"));
    assertFalse(s.sets("timestep_spacing"));
    assertFalse(s.sets("use_karras_sigmas"));
    Path f = tmp.resolve("written.json");
    Json.write(f, s);
    SchedulerConfig back = SchedulerConfig.read(f);
    assertEquals(s, back);
    assertFalse(back.sets("timestep_spacing"));
    assertFalse(
        scheduler(
                "{\"timestep_spacing\": \"linspace\", \"_use_default_values\": [\"timestep_spacing\"]}")
            .sets("timestep_spacing"));
  }

  @Test
  void schedulerConfigRefusesUnsupportedSettings() throws IOException {
    assertSchedulerBad("{\"prediction_type\": \"sample\"}", "sample");
    assertSchedulerBad("{\"beta_schedule\": \"sigmoid\"}", "sigmoid");
    assertSchedulerBad("{\"timestep_spacing\": \"karras\"}", "karras");
    assertSchedulerBad("{\"trained_betas\": [0.1, 0.2]}", "trained_betas");
    assertSchedulerBad("{\"thresholding\": true}", "thresholding");
    assertSchedulerBad("{\"rescale_betas_zero_snr\": true}", "rescale_betas_zero_snr");
    assertSchedulerBad("{\"num_train_timesteps\": 0}", "num_train_timesteps");
    assertSchedulerBad("{\"beta_start\": 0.5, \"beta_end\": 0.1}", "beta_start");
    assertSchedulerBad("{\"num_train_timesteps\": \"many\"}", "not a valid config");
    assertSchedulerBad("{\"beta_end\": ", "not a valid config");
  }

  // ---- helpers ----

  private BadInputException assertBad(Path dir, String word) {
    BadInputException e = assertThrows(BadInputException.class, () -> DiffusersLayout.open(dir));
    assertTrue(
        e.getMessage().contains(word), "message should contain '" + word + "': " + e.getMessage());
    return e;
  }

  private void assertSchedulerBad(String json, String word) throws IOException {
    Path f = Files.createTempFile(tmp, "scheduler", ".json");
    Files.writeString(f, json);
    BadInputException e = assertThrows(BadInputException.class, () -> SchedulerConfig.read(f));
    assertTrue(
        e.getMessage().contains(word), "message should contain '" + word + "': " + e.getMessage());
    assertTrue(
        e.getMessage().contains(f.getFileName().toString()), "names the file: " + e.getMessage());
  }

  private SchedulerConfig scheduler(String json) throws IOException {
    Path f = Files.createTempFile(tmp, "scheduler", ".json");
    Files.writeString(f, json);
    return SchedulerConfig.read(f);
  }

  /** A temp pipeline folder whose component folders link to the fixture's, with its own index. */
  private Path linkedCopy(String modelIndex) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "pipe");
    for (Component c : Component.values()) {
      Files.createSymbolicLink(
          dir.resolve(c.key), Fixtures.tinySd().resolve(c.key).toAbsolutePath());
    }
    Files.writeString(dir.resolve("model_index.json"), modelIndex);
    return dir;
  }
}

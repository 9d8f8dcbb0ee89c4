package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.LdmArchitecture;
import dev.perase.io.ModelSource;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.SingleFileCheckpoint;
import dev.perase.io.SingleFileLayout;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.unet.UNet2DConditionConfig;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single-file checkpoint as a model source ({@link SingleFileLayout}): the fixture's file with
 * the fixture folder's configs is the F16-rounded folder, its hash is the file's SHA-256, SD v1.x's
 * configs are the default, and loading leaves no mapping of the file behind.
 */
class SingleFileModelTest {
  @TempDir Path tmp;

  static final Path FILE = Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors");

  /** {@code sha256sum tiny-sd.safetensors}. */
  static final String FILE_SHA256 =
      "33efcd367c95bdeb1bf7f5e846a231cdafec3272929770f00f466a8693eb9e71";

  @Test
  void theFixtureFileLoadsAsItsF16RoundedFolder() {
    Path half = Fixtures.halfFolder(Fixtures.tinySd(), tmp.resolve("half"));
    try (StableDiffusion file = StableDiffusion.load(FILE, Fixtures.tinySd());
        StableDiffusion folder = StableDiffusion.load(half)) {
      SingleFileLayout layout = assertInstanceOf(SingleFileLayout.class, file.layout());
      assertEquals(FILE_SHA256, layout.modelHash());
      assertEquals(Fixtures.tinySd(), layout.configDir());
      assertNull(folder.layout().configDir());
      assertEquals(folder.unet().config(), file.unet().config());
      assertEquals(folder.layout().schedulerConfig(), file.layout().schedulerConfig());
      assertSameValues(folder.unet().params(), file.unet().params(), "unet");
      assertSameValues(folder.textEncoder().params(), file.textEncoder().params(), "text");
      assertSameValues(folder.vae().params(), file.vae().params(), "vae");
    }
  }

  private static void assertSameValues(ParamSet expected, ParamSet actual, String what) {
    Map<String, Param> e = expected.named();
    Map<String, Param> a = actual.named();
    assertEquals(e.keySet(), a.keySet(), what + ": keys");
    for (String k : e.keySet()) {
      assertTrue(
          e.get(k).value().reshape(-1).contentEquals(a.get(k).value().reshape(-1)),
          what + " " + k + ": bit for bit");
    }
  }

  /** One key of each component in SD v1.x's numbering (input block 11 is level 3's resnet 1). */
  private Path sdV1KeyedFile() throws IOException {
    Path f = tmp.resolve("sd-v1-keys.safetensors");
    try (NDManager m = Torch.newManager()) {
      new SafeTensorsWriter()
          .put("model.diffusion_model.input_blocks.11.0.out_layers.3.weight", m.ones(new Shape(1)))
          .put("first_stage_model.decoder.up.3.upsample.conv.weight", m.ones(new Shape(1)))
          .put(
              "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc1.weight",
              m.ones(new Shape(1)))
          .write(f);
    }
    return f;
  }

  private Path tokenizerOnly() throws IOException {
    Path dir = tmp.resolve("tokenizer-only");
    Files.createDirectories(dir.resolve("tokenizer"));
    for (String name : List.of("vocab.json", "merges.txt")) {
      Files.copy(
          Fixtures.tinySd().resolve("tokenizer").resolve(name), dir.resolve("tokenizer/" + name));
    }
    return dir;
  }

  @Test
  void configsTheFolderLacksAreSdV1s() throws IOException {
    Path file = sdV1KeyedFile();
    Path tokenizer = tokenizerOnly();
    SingleFileLayout layout = SingleFileLayout.open(file, tokenizer);
    assertEquals(LdmArchitecture.sdV1(), layout.architecture());
    UNet2DConditionConfig unet = layout.readConfig(Component.UNET, UNet2DConditionConfig.class);
    assertEquals(768, unet.crossAttentionDim().get(0));
    assertTrue(
        layout.describeConfig(Component.VAE).contains("preset sd-v1.4/vae_config.json"),
        layout.describeConfig(Component.VAE));
    assertEquals(
        tmp.resolve("tokenizer-only/tokenizer"), layout.tokenizerFolder(), "the tokenizer given");
    assertEquals(SingleFileCheckpoint.modelHash(file), layout.modelHash());
    // the same keys do not fit the tiny fixture's architecture, nor its file SD v1.x's
    BadInputException tiny =
        assertThrows(BadInputException.class, () -> SingleFileLayout.open(file, Fixtures.tinySd()));
    assertTrue(
        tiny.getMessage().contains("does not fit the CompVis/LDM layout"), tiny.getMessage());
    BadInputException v1 =
        assertThrows(BadInputException.class, () -> SingleFileLayout.open(FILE, tokenizer));
    assertTrue(v1.getMessage().contains("does not fit the CompVis/LDM layout"), v1.getMessage());
  }

  @Test
  void badSourcesAreRefusedInOneSentence() throws IOException {
    Map<String, Runnable> cases =
        Map.of(
            "pickle checkpoint",
            () -> ModelSource.open(tmp.resolve("sd.ckpt"), null),
            "holds no tokenizer: give --config DIR",
            () -> ModelSource.open(FILE, null),
            "is not a folder",
            () -> ModelSource.open(FILE, FILE),
            "is for a single-file checkpoint",
            () -> ModelSource.open(Fixtures.tinySd(), Fixtures.tinySd()),
            "does not exist",
            () -> ModelSource.open(tmp.resolve("absent.safetensors"), Fixtures.tinySd()));
    for (Map.Entry<String, Runnable> c : cases.entrySet()) {
      BadInputException e = assertThrows(BadInputException.class, c.getValue()::run, c.getKey());
      assertTrue(e.getMessage().contains(c.getKey()), c.getKey() + " in " + e.getMessage());
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
    Path vaeLess = tmp.resolve("unet-only.safetensors");
    try (NDManager m = Torch.newManager()) {
      new SafeTensorsWriter()
          .put("model.diffusion_model.out.2.bias", m.ones(new Shape(4)))
          .write(vaeLess);
    }
    BadInputException e =
        assertThrows(
            BadInputException.class, () -> SingleFileLayout.open(vaeLess, Fixtures.tinySd()));
    assertTrue(e.getMessage().contains("holds no vae weights"), e.getMessage());
  }

  /**
   * Loading reads each tensor through one buffer instead of mapping it: afterwards no page of the
   * file is mapped into the process (a mapped load would leave one mapping per tensor until a GC).
   */
  @Test
  void loadingLeavesNoMappingOfTheFile() throws IOException {
    Path maps = Path.of("/proc/self/maps");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "Linux /proc");
    String real = FILE.toRealPath().toString();
    SingleFileLayout layout = SingleFileLayout.open(FILE, Fixtures.tinySd());
    try (NDManager m = Torch.newManager()) {
      SingleFileCheckpoint.Components c = layout.load(m);
      assertEquals(304, c.unet().size());
      long mapped = Files.readAllLines(maps).stream().filter(l -> l.endsWith(real)).count();
      assertEquals(0, mapped, "mappings of " + real);
    }
  }
}

package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.model.clip.CLIPTextConfig;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.unet.UNet2DConditionConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SD v1.4 preset's pieces that are cheap to check: its tokenizer has CLIP's ids and reads as a
 * CLIP tokenizer, and its configurations parse with SD v1.4's numbers. Writing the whole pipeline
 * (1.7 GB, about 100 s) is {@code SdScaleTest}'s job.
 */
class ShapedPipelineTest {
  @TempDir Path tmp;

  @Test
  void tokenizerHasClipsIdsAndSpellsWordsLetterByLetter() throws IOException {
    Path dir = tmp.resolve("tokenizer");
    Files.createDirectories(dir);
    copy("tokenizer_config.json", dir.resolve("tokenizer_config.json"));
    copy("special_tokens_map.json", dir.resolve("special_tokens_map.json"));
    ShapedPipeline.writeTokenizer(dir, 49_408);
    CLIPTokenizer t = CLIPTokenizer.load(dir);
    assertEquals(49_408, t.vocabSize());
    assertEquals(77, t.maxLength());
    long[] ids = t.encodeNoPad("a cat");
    // <|startoftext|> a</w> c a t</w> <|endoftext|>: base tokens, no merges
    List<String> base = CLIPTokenizer.baseTokens();
    assertArrayEquals(
        new long[] {
          49_406,
          base.indexOf("a</w>"),
          base.indexOf("c"),
          base.indexOf("a"),
          base.indexOf("t</w>"),
          49_407
        },
        ids);
    assertEquals(512, base.size());
    assertEquals("!", base.get(0));
  }

  @Test
  void configurationsAreSdV14s() throws IOException {
    Path unet = tmp.resolve("unet.json");
    Path text = tmp.resolve("text.json");
    copy("unet_config.json", unet);
    copy("text_encoder_config.json", text);
    UNet2DConditionConfig u = Json.read(unet, UNet2DConditionConfig.class);
    assertEquals(List.of(320, 640, 1280, 1280), u.blockOutChannels());
    assertEquals(List.of(768, 768, 768, 768), u.crossAttentionDim());
    assertEquals(64, u.sampleSize());
    CLIPTextConfig c = Json.read(text, CLIPTextConfig.class);
    assertEquals(768, c.hiddenSize());
    assertEquals(12, c.numHiddenLayers());
    assertEquals(49_408, c.vocabSize());
    assertThrows(BadInputException.class, () -> ShapedPipeline.Preset.parse("sd-v9"));
  }

  private static void copy(String name, Path to) throws IOException {
    try (InputStream in =
        ShapedPipeline.class.getResourceAsStream("/dev/perase/presets/sd-v1.4/" + name)) {
      Files.copy(in, to);
    }
  }
}

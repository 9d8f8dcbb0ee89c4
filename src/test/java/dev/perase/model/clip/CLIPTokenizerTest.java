package dev.perase.model.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CLIPTokenizerTest {
  private static CLIPTokenizer tokenizer;
  private static JsonNode reference;
  private static long[] referenceIds;

  @BeforeAll
  static void load() throws IOException {
    tokenizer = CLIPTokenizer.load(Fixtures.tinySd().resolve("tokenizer"));
    reference = Json.MAPPER.readTree(Fixtures.reference("tokenizer.json").toFile());
    try (SafeTensors st = SafeTensors.open(Fixtures.reference("tokenizer.safetensors"))) {
      referenceIds = st.longs("input_ids");
    }
  }

  private static long[] row(int i) {
    return Arrays.copyOfRange(referenceIds, i * 77, (i + 1) * 77);
  }

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void specialTokensAndSizesComeFromTheFiles() {
    assertEquals(49408, tokenizer.vocabSize());
    assertEquals(reference.get("bos_token_id").asLong(), tokenizer.bosId());
    assertEquals(reference.get("eos_token_id").asLong(), tokenizer.eosId());
    assertEquals(reference.get("pad_token_id").asLong(), tokenizer.padId());
    assertEquals(reference.get("model_max_length").asInt(), tokenizer.maxLength());
    assertEquals("cat</w>", tokenizer.tokenOf(tokenizer.idOf("cat</w>")));
    assertEquals(tokenizer.bosId(), tokenizer.idOf("<|startoftext|>"));
    BadInputException e =
        assertThrows(BadInputException.class, () -> tokenizer.idOf("no such token"));
    assertTrue(e.getMessage().contains("no such token"), e.getMessage());
    assertThrows(BadInputException.class, () -> tokenizer.tokenOf(49408));
  }

  @Test
  void tokenizerIdsMatchReference() {
    JsonNode prompts = reference.get("prompts");
    assertEquals(referenceIds.length / 77, prompts.size());
    int marked = 0;
    int unmarked = 0;
    int unmarkedSameAsFtfy = 0;
    for (int i = 0; i < prompts.size(); i++) {
      JsonNode p = prompts.get(i);
      String prompt = p.get("prompt").asText();
      long[] ids = tokenizer.encode(prompt);
      if (p.get("same_without_ftfy").asBoolean()) {
        marked++;
        assertArrayEquals(row(i), ids, "prompt " + i + ": " + prompt);
        assertArrayEquals(longs(p.get("input_ids")), ids, "prompt " + i);
        assertArrayEquals(
            longs(p.get("untruncated_ids")), tokenizer.encodeNoPad(prompt), "prompt " + i);
        assertEquals(strings(p.get("bpe_tokens")), tokenizer.tokenize(prompt), "prompt " + i);
      } else {
        // ftfy would have changed these prompts; we implement transformers' no-ftfy path, whose
        // ids the fixture records as input_ids_without_ftfy
        unmarked++;
        boolean sameAsFtfy = Arrays.equals(row(i), ids);
        unmarkedSameAsFtfy += sameAsFtfy ? 1 : 0;
        assertArrayEquals(
            longs(p.get("input_ids_without_ftfy")),
            ids,
            "no-ftfy ids of prompt " + i + ": " + prompt);
        System.out.printf(
            "not marked same_without_ftfy: %-55s ftfy ids %s, no-ftfy ids equal%n",
            "'" + prompt.replace("\u009d", "\\x9d") + "'", sameAsFtfy ? "equal" : "differ");
      }
    }
    System.out.printf(
        "tokenizer: %d marked prompts match exactly; %d not marked, %d of them match the ftfy"
            + " reference ids anyway, all %d match transformers' no-ftfy ids%n",
        marked, unmarked, unmarkedSameAsFtfy, unmarked);
    assertTrue(marked >= 30, "marked prompts: " + marked);
  }

  @Test
  void decodeRoundTrip() {
    assertEquals(
        "a painting in the style of van gogh",
        tokenizer.decode(tokenizer.encode("A painting in the style of Van Gogh")));
    assertEquals(
        "hello , world !!! what 's up ???",
        tokenizer.decode(tokenizer.encode("Hello, World!!! What's up???")));
    assertEquals("café crème", tokenizer.decode(tokenizer.encode("Café  Crème")));
    assertEquals("", tokenizer.decode(tokenizer.encode("")));
    assertEquals(
        "special tokens in text",
        tokenizer.decode(tokenizer.encode("<|startoftext|> special tokens <|endoftext|> in text")));
    JsonNode prompts = reference.get("prompts");
    for (int i = 0; i < prompts.size(); i++) {
      JsonNode p = prompts.get(i);
      // decode drops special tokens, also those a prompt spells out ("<|endoftext|>")
      if (!p.get("same_without_ftfy").asBoolean() || p.get("prompt").asText().contains("<|")) {
        continue;
      }
      long[] ids = tokenizer.encodeNoPad(p.get("prompt").asText());
      String text = tokenizer.decode(ids);
      assertArrayEquals(ids, tokenizer.encodeNoPad(text), "round trip of " + text);
    }
  }

  @Test
  void longPromptIsTruncatedWithEndTokenLast() {
    JsonNode prompts = reference.get("prompts");
    int checked = 0;
    for (int i = 0; i < prompts.size(); i++) {
      JsonNode p = prompts.get(i);
      if (!p.get("truncated").asBoolean()) {
        continue;
      }
      String prompt = p.get("prompt").asText();
      long[] full = tokenizer.encodeNoPad(prompt);
      long[] ids = tokenizer.encode(prompt);
      assertTrue(full.length > 77, "prompt " + i + " has " + full.length + " tokens");
      assertEquals(p.get("n_untruncated_tokens").asInt(), full.length);
      assertEquals(77, ids.length);
      assertEquals(tokenizer.bosId(), ids[0]);
      assertEquals(tokenizer.eosId(), ids[76]);
      assertArrayEquals(Arrays.copyOfRange(full, 0, 76), Arrays.copyOfRange(ids, 0, 76));
      assertArrayEquals(row(i), ids);
      checked++;
    }
    assertEquals(2, checked);
  }

  @Test
  void batchEncodeStacksRows() {
    long[][] ids = tokenizer.encode(List.of("a cat", ""));
    assertEquals(2, ids.length);
    assertArrayEquals(tokenizer.encode("a cat"), ids[0]);
    assertArrayEquals(new long[] {tokenizer.bosId(), tokenizer.eosId()}, Arrays.copyOf(ids[1], 2));
  }

  /** A tiny vocabulary in CLIP's layout: ids are not SD's, so nothing may assume 49408. */
  @Test
  void customVocabularyInClipFormat(@TempDir Path dir) throws IOException {
    char[] bytes = CLIPTokenizer.bytesToUnicode();
    List<String> vocab = new ArrayList<>();
    for (char c : bytes) {
      vocab.add(String.valueOf(c));
    }
    for (char c : bytes) {
      vocab.add(c + "</w>");
    }
    List<String> merges = List.of("c a", "ca t</w>", "r e", "re d</w>");
    for (String m : merges) {
      vocab.add(m.replace(" ", ""));
    }
    vocab.add("<|startoftext|>");
    vocab.add("<|endoftext|>");
    StringBuilder json = new StringBuilder("{");
    for (int i = 0; i < vocab.size(); i++) {
      json.append(i == 0 ? "" : ",").append(Json.MAPPER.writeValueAsString(vocab.get(i)));
      json.append(':').append(i);
    }
    Files.writeString(dir.resolve("vocab.json"), json.append('}'), StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges) + "\n");
    CLIPTokenizer tok = CLIPTokenizer.load(dir);
    assertEquals(518, tok.vocabSize());
    assertEquals(516, tok.bosId());
    assertEquals(517, tok.eosId());
    assertEquals(517, tok.padId());
    assertEquals(List.of("cat</w>", "red</w>", "ca", "b</w>"), tok.tokenize("Cat RED cab"));
    long[] ids = tok.encode("a red cat");
    assertEquals(77, ids.length);
    long a = 256 + 'a';
    assertArrayEquals(new long[] {516, a, 515, 513, 517, 517}, Arrays.copyOf(ids, 6));
    assertEquals("a red cat", tok.decode(ids));
  }

  @Test
  void malformedFilesAreBadInputNamingTheFile(@TempDir Path dir) throws IOException {
    Path src = Fixtures.tinySd().resolve("tokenizer");
    Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": ");
    Files.copy(src.resolve("merges.txt"), dir.resolve("merges.txt"));
    assertMessage(dir, "vocab.json");

    Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": 5}");
    assertMessage(dir, "vocab.json");

    Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
    Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b c\n");
    assertMessage(dir, "merges.txt");

    Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nb a\n");
    assertMessage(dir, "merges.txt");

    Files.delete(dir.resolve("merges.txt"));
    assertMessage(dir, "merges.txt");

    // valid files, but no end-of-text token in the vocabulary
    Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b\n");
    Files.writeString(
        dir.resolve("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|startoftext|>\": 3}");
    assertMessage(dir, "<|endoftext|>");

    Files.writeString(
        dir.resolve("vocab.json"),
        "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|startoftext|>\": 3, \"<|endoftext|>\": 4}");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": \"long\"}");
    assertMessage(dir, "tokenizer_config.json");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 16}");
    assertEquals(16, CLIPTokenizer.load(dir).maxLength());
  }

  private static void assertMessage(Path dir, String part) {
    BadInputException e = assertThrows(BadInputException.class, () -> CLIPTokenizer.load(dir));
    assertTrue(e.getMessage().contains(part), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}

package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorldTokenizerBuilderTest {
  @TempDir static Path dir;
  static WorldTokenizerBuilder.BpeTables tables;
  static List<String> vocab;
  static List<String> merges;
  static TinyBpe bpe;

  @BeforeAll
  static void build() throws Exception {
    tables = WorldTokenizerBuilder.write(dir);
    vocab = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it =
        Json.MAPPER.readTree(dir.resolve("vocab.json").toFile()).fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      assertEquals(vocab.size(), e.getValue().asInt(), "ids follow file order at " + e.getKey());
      vocab.add(e.getKey());
    }
    List<String> lines = Files.readAllLines(dir.resolve("merges.txt"), StandardCharsets.UTF_8);
    assertEquals("#version: 0.2", lines.get(0));
    merges = lines.subList(1, lines.size());
    bpe = new TinyBpe(vocab, merges);
    System.out.printf(
        "world tokenizer: vocab %d, merges %d, corpus %d pieces%n",
        vocab.size(), merges.size(), WorldTokenizerBuilder.corpus().size());
  }

  /** Byte symbols, their </w> forms, merges in order, then the two special tokens, as in CLIP. */
  @Test
  void vocabFollowsClipsLayout() throws Exception {
    assertEquals(tables.vocab(), vocab);
    assertEquals(512 + merges.size() + 2, vocab.size());
    // The first 512 entries are exactly those of SD's real CLIP vocabulary (the fixture's).
    JsonNode clip =
        Json.MAPPER.readTree(Fixtures.tinySd().resolve("tokenizer/vocab.json").toFile());
    String[] clipById = new String[clip.size()];
    clip.fields().forEachRemaining(e -> clipById[e.getValue().asInt()] = e.getKey());
    for (int i = 0; i < 512; i++) {
      assertEquals(clipById[i], vocab.get(i), "id " + i);
    }
    for (int i = 0; i < merges.size(); i++) {
      String[] pair = merges.get(i).split(" ");
      assertEquals(2, pair.length, merges.get(i));
      assertEquals(pair[0] + pair[1], vocab.get(512 + i), "merge " + i);
    }
    assertEquals("<|startoftext|>", vocab.get(vocab.size() - 2));
    assertEquals("<|endoftext|>", vocab.get(vocab.size() - 1));
  }

  /** Every corpus piece is one token, and decoding that token gives the piece back. */
  @Test
  void everyCorpusWordIsOneTokenAndDecodesBack() {
    Map<String, Long> corpus = WorldTokenizerBuilder.corpus();
    for (String piece : corpus.keySet()) {
      List<Integer> ids = bpe.encodePiece(piece);
      assertEquals(1, ids.size(), "'" + piece + "' → " + ids);
      assertEquals(piece, bpe.decode(ids).strip());
    }
    for (String w : List.of("vortex", "crimson", "pentagram", "'s", "astronaut", "fire")) {
      assertTrue(corpus.containsKey(w), w);
    }
    assertTrue(WorldTokenizerBuilder.englishWords().size() >= 450);
  }

  /** Captions encode without unknown symbols and decode to their pieces; new words still encode. */
  @Test
  void captionsRoundTrip() {
    SplittableRandom rng = new SplittableRandom(4);
    for (int i = 0; i < 300; i++) {
      Labels l = WorldRenderer.randomLabels(rng);
      String caption = CaptionGrammar.caption(l, rng);
      List<Integer> ids = bpe.encode(caption);
      assertEquals(WorldText.pieces(caption).size(), ids.size(), caption);
      assertEquals(String.join(" ", WorldText.pieces(caption)), bpe.decode(ids).strip());
    }
    // words outside the corpus fall back to sub-word tokens and still round-trip
    for (String text : List.of("xylophone quokka", "naïve café", "42 zebras!")) {
      List<Integer> ids = bpe.encode(text);
      assertTrue(ids.size() > WorldText.pieces(text).size(), text);
      assertEquals(String.join(" ", WorldText.pieces(text)), bpe.decode(ids).strip());
    }
  }

  @Test
  void configFilesMatchTheFixturesTokenizerFolder() throws Exception {
    Path fixture = Fixtures.tinySd().resolve("tokenizer");
    assertEquals(
        Json.MAPPER.readTree(fixture.resolve("special_tokens_map.json").toFile()),
        Json.MAPPER.readTree(dir.resolve("special_tokens_map.json").toFile()));
    JsonNode want = Json.MAPPER.readTree(fixture.resolve("tokenizer_config.json").toFile());
    JsonNode got = Json.MAPPER.readTree(dir.resolve("tokenizer_config.json").toFile());
    List<String> wantKeys = new ArrayList<>();
    want.fieldNames().forEachRemaining(wantKeys::add);
    List<String> gotKeys = new ArrayList<>();
    got.fieldNames().forEachRemaining(gotKeys::add);
    assertEquals(wantKeys, gotKeys);
    for (String k : wantKeys) {
      if (k.equals("model_max_length")) {
        // the world's prompts are short: 32 tokens, not CLIP's 77
        assertEquals(WorldTokenizerBuilder.MAX_LENGTH, got.get(k).asInt(), k);
      } else if (!k.equals("name_or_path")) {
        assertEquals(want.get(k), got.get(k), k);
      }
    }
  }

  @Test
  void learningIsDeterministicAndStopsAtTheCap() {
    Map<String, Long> corpus = new TreeMap<>(Map.of("lower", 5L, "lowest", 2L, "newer", 6L));
    WorldTokenizerBuilder.BpeTables a = WorldTokenizerBuilder.learn(corpus, 1000);
    assertEquals(a, WorldTokenizerBuilder.learn(new HashMap<>(corpus), 1000));
    // pair counts: "w e" 5 + 2 + 6 = 13, then "e r</w>" 11: the most frequent goes first
    assertEquals("w e", a.merges().get(0));
    assertEquals("we r</w>", a.merges().get(1));
    assertTrue(a.vocab().containsAll(List.of("lower</w>", "lowest</w>", "newer</w>")));
    WorldTokenizerBuilder.BpeTables capped = WorldTokenizerBuilder.learn(corpus, 3);
    assertEquals(3, capped.merges().size());
    assertEquals(512 + 3 + 2, capped.vocabSize());
  }

  /**
   * CLIP's BPE encoder, written from its description for this test: repeatedly merge the adjacent
   * pair of lowest merge rank; decoding maps byte symbols back to bytes and {@code </w>} to a
   * space.
   */
  static final class TinyBpe {
    final Map<String, Integer> ids = new HashMap<>();
    final Map<String, Integer> ranks = new HashMap<>();
    final List<String> byId;
    final Map<Character, Integer> byteOf = new HashMap<>();

    TinyBpe(List<String> vocab, List<String> merges) {
      byId = vocab;
      for (int i = 0; i < vocab.size(); i++) {
        ids.put(vocab.get(i), i);
      }
      for (int i = 0; i < merges.size(); i++) {
        ranks.put(merges.get(i), i);
      }
      String[] table = WorldTokenizerBuilder.byteToSymbol();
      for (int b = 0; b < 256; b++) {
        byteOf.put(table[b].charAt(0), b);
      }
    }

    List<Integer> encode(String text) {
      List<Integer> out = new ArrayList<>();
      for (String piece : WorldText.pieces(text)) {
        out.addAll(encodePiece(piece));
      }
      return out;
    }

    List<Integer> encodePiece(String piece) {
      List<String> word = new ArrayList<>(WorldTokenizerBuilder.symbols(piece));
      while (word.size() > 1) {
        int best = -1;
        int bestRank = Integer.MAX_VALUE;
        for (int i = 0; i + 1 < word.size(); i++) {
          Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
          if (r != null && r < bestRank) {
            bestRank = r;
            best = i;
          }
        }
        if (best < 0) {
          break;
        }
        String[] pair =
            byId.get(512 + bestRank).equals(word.get(best) + word.get(best + 1))
                ? new String[] {word.get(best), word.get(best + 1)}
                : null;
        assertNotNull(pair);
        List<String> next = new ArrayList<>();
        for (int i = 0; i < word.size(); i++) {
          if (i + 1 < word.size()
              && word.get(i).equals(pair[0])
              && word.get(i + 1).equals(pair[1])) {
            next.add(pair[0] + pair[1]);
            i++;
          } else {
            next.add(word.get(i));
          }
        }
        word = next;
      }
      List<Integer> out = new ArrayList<>();
      for (String s : word) {
        Integer id = ids.get(s);
        assertNotNull(id, "symbol '" + s + "' of '" + piece + "' is not in the vocabulary");
        out.add(id);
      }
      return out;
    }

    String decode(List<Integer> tokens) {
      StringBuilder symbols = new StringBuilder();
      for (int id : tokens) {
        symbols.append(byId.get(id));
      }
      String joined = symbols.toString().replace("</w>", " ");
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      for (char ch : joined.toCharArray()) {
        bytes.write(ch == ' ' ? ' ' : byteOf.get(ch));
      }
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }
}

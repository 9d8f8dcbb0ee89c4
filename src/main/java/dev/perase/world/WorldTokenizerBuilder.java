package dev.perase.world;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.perase.io.AtomicFile;
import dev.perase.io.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Builds the world's tokenizer in CLIP's on-disk format ({@code vocab.json}, {@code merges.txt},
 * {@code tokenizer_config.json}, {@code special_tokens_map.json}), so that SD's CLIPTokenizer class
 * reads it unchanged.
 *
 * <p>The corpus is every piece the caption grammar can produce plus a few hundred common English
 * words (resource {@code english-words.txt}), each counted once plus its number of occurrences in
 * {@link #CORPUS_CAPTIONS} captions drawn with seed 0. As CLIP's {@code SimpleTokenizer}: text is
 * lower-cased and split by {@link WorldText#CLIP_PATTERN}; each piece's UTF-8 bytes map through
 * GPT-2's {@code bytes_to_unicode} table and the last symbol gets {@code </w>}. Byte-pair merges
 * are then learned the classic way (Sennrich et al. 2016): count adjacent symbol pairs weighted by
 * word frequency, merge the most frequent everywhere (ties: the smaller pair in string order of
 * left, then right symbol), repeat until every corpus word is one symbol or {@code maxMerges} is
 * reached.
 *
 * <p>Vocabulary order, as in CLIP: the 256 byte symbols in {@code bytes_to_unicode} order, the same
 * with {@code </w>}, one entry per merge (the merged string) in merge order, then {@code
 * <|startoftext|>} and {@code <|endoftext|>}.
 */
public final class WorldTokenizerBuilder {
  /**
   * The world's prompts are short (captions at most 20 tokens, test prompts fewer than 27 with five
   * adversarial tokens prepended), so the context is 32 tokens rather than SD's 77: fewer end-token
   * padding positions dilute the prompt in cross-attention while the model learns to read it.
   */
  public static final int MAX_LENGTH = 32;

  public static final String START_OF_TEXT = "<|startoftext|>";
  public static final String END_OF_TEXT = "<|endoftext|>";
  public static final String END_OF_WORD = "</w>";

  /** CLIP's own merge count (49152 − 256 − 2): readers that slice merges.txt stop there. */
  public static final int MAX_MERGES = 48_894;

  /** Captions sampled to weight the grammar's words by how often captions use them. */
  public static final int CORPUS_CAPTIONS = 5_000;

  static final String ENGLISH_WORDS = "english-words.txt";

  private WorldTokenizerBuilder() {}

  /**
   * The learned tables.
   *
   * @param vocab every token in id order
   * @param merges every merge as "left right", in rank order
   */
  public record BpeTables(List<String> vocab, List<String> merges) {
    public BpeTables {
      vocab = List.copyOf(vocab);
      merges = List.copyOf(merges);
    }

    public int vocabSize() {
      return vocab.size();
    }
  }

  /** Builds the tokenizer from the default corpus and writes its four files into {@code dir}. */
  public static BpeTables write(Path dir) {
    BpeTables tables = learn(corpus(), MAX_MERGES);
    write(dir, tables);
    return tables;
  }

  /** Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json. */
  public static void write(Path dir, BpeTables tables) {
    Map<String, Integer> ids = new LinkedHashMap<>();
    for (String token : tables.vocab()) {
      ids.put(token, ids.size());
    }
    try {
      AtomicFile.writeString(dir.resolve("vocab.json"), Json.MAPPER.writeValueAsString(ids) + "\n");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    StringBuilder merges = new StringBuilder("#version: 0.2\n");
    for (String m : tables.merges()) {
      merges.append(m).append('\n');
    }
    AtomicFile.writeString(dir.resolve("merges.txt"), merges.toString());
    Json.write(dir.resolve("special_tokens_map.json"), specialTokensMap());
    Json.write(dir.resolve("tokenizer_config.json"), tokenizerConfig());
  }

  /** The default corpus: piece → frequency (grammar pieces and English words, see class doc). */
  public static Map<String, Long> corpus() {
    Map<String, Long> freq = new TreeMap<>();
    for (String p : CaptionGrammar.vocabulary()) {
      freq.merge(p, 1L, Long::sum);
    }
    for (String w : englishWords()) {
      for (String p : WorldText.pieces(w)) {
        freq.merge(p, 1L, Long::sum);
      }
    }
    SplittableRandom rng = new SplittableRandom(0);
    for (int i = 0; i < CORPUS_CAPTIONS; i++) {
      Labels labels = WorldRenderer.randomLabels(rng);
      for (String p : WorldText.pieces(CaptionGrammar.caption(labels, rng))) {
        freq.merge(p, 1L, Long::sum);
      }
    }
    return freq;
  }

  /** The English word list shipped with perase (comments and blank lines dropped). */
  public static List<String> englishWords() {
    List<String> out = new ArrayList<>();
    try (InputStream in = WorldTokenizerBuilder.class.getResourceAsStream(ENGLISH_WORDS)) {
      if (in == null) {
        throw new IllegalStateException("resource " + ENGLISH_WORDS + " is missing from the build");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line; (line = r.readLine()) != null; ) {
        String w = line.strip();
        if (!w.isEmpty() && !w.startsWith("#")) {
          out.add(w);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * Learns BPE merges over {@code wordFreqs} (pieces as CLIP splits them) up to {@code maxMerges}.
   */
  public static BpeTables learn(Map<String, Long> wordFreqs, int maxMerges) {
    List<String> vocab = new ArrayList<>(byteSymbols());
    for (String s : byteSymbols()) {
      vocab.add(s + END_OF_WORD);
    }
    Set<String> known = new HashSet<>(vocab);

    List<List<String>> words = new ArrayList<>();
    List<Long> freqs = new ArrayList<>();
    for (Map.Entry<String, Long> e : new TreeMap<>(wordFreqs).entrySet()) {
      words.add(symbols(e.getKey()));
      freqs.add(e.getValue());
    }

    List<String> merges = new ArrayList<>();
    while (merges.size() < maxMerges) {
      // 1. count adjacent pairs, weighted by word frequency
      Map<String, Long> counts = new HashMap<>();
      Map<String, String[]> pairOf = new HashMap<>();
      for (int w = 0; w < words.size(); w++) {
        List<String> sym = words.get(w);
        for (int i = 0; i + 1 < sym.size(); i++) {
          String key = sym.get(i) + " " + sym.get(i + 1);
          counts.merge(key, freqs.get(w), Long::sum);
          pairOf.putIfAbsent(key, new String[] {sym.get(i), sym.get(i + 1)});
        }
      }
      if (counts.isEmpty()) {
        break; // every word is one token
      }
      // 2. the most frequent pair; ties by (left, right) in string order
      String[] best = null;
      long bestCount = -1;
      for (Map.Entry<String, Long> e : counts.entrySet()) {
        String[] p = pairOf.get(e.getKey());
        long c = e.getValue();
        if (c > bestCount || (c == bestCount && comparePairs(p, best) < 0)) {
          best = p;
          bestCount = c;
        }
      }
      String merged = best[0] + best[1];
      if (!known.add(merged)) {
        // Two different pairs spelling the same token would give vocab.json a duplicate key.
        throw new IllegalStateException("BPE produced the token '" + merged + "' twice");
      }
      merges.add(best[0] + " " + best[1]);
      vocab.add(merged);
      // 3. apply the merge everywhere, left to right, non-overlapping
      for (int w = 0; w < words.size(); w++) {
        words.set(w, applyMerge(words.get(w), best[0], best[1]));
      }
    }
    vocab.add(START_OF_TEXT);
    vocab.add(END_OF_TEXT);
    return new BpeTables(vocab, merges);
  }

  /**
   * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes ('!'…'~', '¡'…'¬', '®'…'ÿ') map to
   * themselves, the other 68 bytes to U+0100 + n in byte order. Index = byte value.
   */
  public static String[] byteToSymbol() {
    String[] out = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      if (printable(b)) {
        out[b] = String.valueOf((char) b);
      } else {
        out[b] = String.valueOf((char) (256 + n));
        n++;
      }
    }
    return out;
  }

  /**
   * The 256 byte symbols in {@code bytes_to_unicode} order: printable bytes first, then the rest.
   */
  public static List<String> byteSymbols() {
    String[] table = byteToSymbol();
    List<String> out = new ArrayList<>(256);
    for (int b = 0; b < 256; b++) {
      if (printable(b)) {
        out.add(table[b]);
      }
    }
    for (int b = 0; b < 256; b++) {
      if (!printable(b)) {
        out.add(table[b]);
      }
    }
    return out;
  }

  /** A piece's initial symbols: one per UTF-8 byte, the last with {@code </w>}. */
  static List<String> symbols(String piece) {
    String[] table = byteToSymbol();
    byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
    List<String> out = new ArrayList<>(bytes.length);
    for (byte b : bytes) {
      out.add(table[b & 0xff]);
    }
    int last = out.size() - 1;
    out.set(last, out.get(last) + END_OF_WORD);
    return out;
  }

  private static boolean printable(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  }

  private static int comparePairs(String[] a, String[] b) {
    int c = a[0].compareTo(b[0]);
    return c != 0 ? c : a[1].compareTo(b[1]);
  }

  private static List<String> applyMerge(List<String> sym, String left, String right) {
    if (sym.size() < 2) {
      return sym;
    }
    List<String> out = new ArrayList<>(sym.size());
    int i = 0;
    while (i < sym.size()) {
      if (i + 1 < sym.size() && sym.get(i).equals(left) && sym.get(i + 1).equals(right)) {
        out.add(left + right);
        i += 2;
      } else {
        out.add(sym.get(i));
        i++;
      }
    }
    return out;
  }

  private static Map<String, Object> addedToken(String content, boolean typed) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (typed) {
      m.put("__type", "AddedToken");
    }
    m.put("content", content);
    m.put("lstrip", false);
    m.put("normalized", true);
    m.put("rstrip", false);
    m.put("single_word", false);
    return m;
  }

  /** As transformers writes it for CLIP: bos, eos, pad = unk = eos. */
  static Map<String, Object> specialTokensMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("bos_token", addedToken(START_OF_TEXT, false));
    m.put("eos_token", addedToken(END_OF_TEXT, false));
    m.put("pad_token", END_OF_TEXT);
    m.put("unk_token", addedToken(END_OF_TEXT, false));
    return m;
  }

  /** The CLIPTokenizer config of SD v1.x, with perase's own name. */
  static Map<String, Object> tokenizerConfig() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("add_prefix_space", false);
    m.put("bos_token", addedToken(START_OF_TEXT, true));
    m.put("do_lower_case", true);
    m.put("eos_token", addedToken(END_OF_TEXT, true));
    m.put("errors", "replace");
    m.put("model_max_length", MAX_LENGTH);
    m.put("name_or_path", "perase/world");
    m.put("pad_token", END_OF_TEXT);
    m.put("special_tokens_map_file", "./special_tokens_map.json");
    m.put("tokenizer_class", "CLIPTokenizer");
    m.put("unk_token", addedToken(END_OF_TEXT, true));
    return m;
  }
}

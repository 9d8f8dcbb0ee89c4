package dev.perase.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, as transformers' {@code CLIPTokenizer} (4.45) runs it when the
 * {@code ftfy} package is absent, read from a tokenizer folder ({@code vocab.json}, {@code
 * merges.txt}, and when present {@code tokenizer_config.json} / {@code special_tokens_map.json}).
 *
 * <p>Steps for one prompt:
 *
 * <ol>
 *   <li>Clean-up, as transformers' fallback {@code BasicTokenizer(strip_accents=False,
 *       do_split_on_punc=False)}: drop NUL, U+FFFD and every control/format/unassigned/private-use
 *       code point (Unicode category C*) except tab, newline and carriage return; turn those and
 *       every space separator (Zs) into a space; put spaces around CJK ideographs; NFC-normalise;
 *       split on whitespace (collapsing runs, stripping the ends) and lower-case each word; join
 *       the words with single spaces.
 *   <li>Pre-tokenise with CLIP's pattern {@code <|startoftext|> | <|endoftext|> |
 *       's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+} (letters run together, each
 *       digit alone, other symbols run together; the special token strings written in a prompt stay
 *       whole).
 *   <li>Map each piece's UTF-8 bytes to printable characters ({@link #bytesToUnicode}), so that the
 *       BPE never sees spaces or control characters.
 *   <li>BPE: split the piece into characters, mark the last one with {@code </w>}, then repeatedly
 *       merge every occurrence of the adjacent pair with the lowest rank in {@code merges.txt}
 *       until no ranked pair is left. Results are cached per piece.
 * </ol>
 *
 * <p>We do not run ftfy ({@code ftfy.fix_text}), which transformers (with ftfy installed) and
 * OpenAI's {@code simple_tokenizer} apply first. Where it matters it would have: repaired mojibake
 * ({@code cafÃ©} → {@code café}), un-escaped HTML entities ({@code &amp;} → {@code &}; the OpenAI
 * tokenizer also runs {@code html.unescape} twice), straightened curly quotes and apostrophes
 * ({@code “ ” ‘ ’} → {@code " '}), expanded Latin ligatures ({@code ﬁ} → {@code fi}) and folded
 * full-width characters ({@code Ｆ} → {@code F}). Conversely the fallback clean-up above splits CJK
 * ideographs into single characters and deletes control characters, which the ftfy path keeps. For
 * plain prompts (ASCII, accented Latin, Greek, Cyrillic, emoji) both paths give the same ids.
 *
 * <p>A prompt is encoded as the Stable Diffusion pipeline asks for it ({@code padding="max_length",
 * truncation=True}): {@code [bos, ids…, eos]}, cut to {@code maxLength} keeping the end token last,
 * then padded with the pad token. Special tokens are looked up by their strings, so small custom
 * vocabularies in the same format work (any size, any ids).
 */
public final class CLIPTokenizer {
  /** CLIP's pre-tokeniser; its contractions match case-insensitively, as in transformers. */
  private static final Pattern PRETOKENIZE =
      Pattern.compile(
          "<\\|startoftext\\|>|<\\|endoftext\\|>|(?iu:'s|'t|'re|'ve|'m|'ll|'d)"
              + "|\\p{L}+|\\p{N}|[^\\p{IsWhite_Space}\\p{L}\\p{N}]+");

  private static final String START_OF_TEXT = "<|startoftext|>";
  private static final String END_OF_TEXT = "<|endoftext|>";
  private static final String WORD_END = "</w>";
  private static final int DEFAULT_MAX_LENGTH = 77;

  /** transformers writes 1e30 as model_max_length when a tokenizer has no limit; treat as unset. */
  private static final long UNSET_MAX_LENGTH = 1_000_000_000L;

  private static final int CACHE_LIMIT = 100_000;

  private static final char[] BYTE_ENCODER = bytesToUnicode();
  private static final Map<Character, Integer> BYTE_DECODER = new HashMap<>();

  static {
    for (int b = 0; b < 256; b++) {
      BYTE_DECODER.put(BYTE_ENCODER[b], b);
    }
  }

  private final Map<String, Integer> encoder;
  private final String[] decoder;
  private final Map<String, Integer> bpeRanks;
  private final Map<String, String> cache = new ConcurrentHashMap<>();
  private final long bosId;
  private final long eosId;
  private final long padId;
  private final long unkId;
  private final int maxLength;

  private CLIPTokenizer(
      Map<String, Integer> encoder,
      String[] decoder,
      Map<String, Integer> bpeRanks,
      long bosId,
      long eosId,
      long padId,
      long unkId,
      int maxLength) {
    this.encoder = encoder;
    this.decoder = decoder;
    this.bpeRanks = bpeRanks;
    this.bosId = bosId;
    this.eosId = eosId;
    this.padId = padId;
    this.unkId = unkId;
    this.maxLength = maxLength;
  }

  /**
   * Loads {@code vocab.json} and {@code merges.txt} from a tokenizer folder, plus the special
   * tokens and {@code model_max_length} from {@code tokenizer_config.json} and {@code
   * special_tokens_map.json} when present (the latter wins, as in transformers). Defaults: bos
   * {@code <|startoftext|>}, eos, pad and unk {@code <|endoftext|>}, max length 77.
   */
  public static CLIPTokenizer load(Path tokenizerDir) {
    if (!Files.isDirectory(tokenizerDir)) {
      throw new BadInputException("tokenizer folder not found: " + tokenizerDir);
    }
    Path vocabFile = tokenizerDir.resolve("vocab.json");
    Path mergesFile = tokenizerDir.resolve("merges.txt");
    Map<String, Integer> encoder = readVocab(vocabFile);
    String[] decoder = new String[encoder.size()];
    for (Map.Entry<String, Integer> e : encoder.entrySet()) {
      decoder[e.getValue()] = e.getKey();
    }
    Map<String, Integer> ranks = readMerges(mergesFile, encoder);

    Map<String, String> special = new HashMap<>();
    special.put("bos_token", START_OF_TEXT);
    special.put("eos_token", END_OF_TEXT);
    special.put("pad_token", END_OF_TEXT);
    special.put("unk_token", END_OF_TEXT);
    long maxLength = DEFAULT_MAX_LENGTH;
    Path configFile = tokenizerDir.resolve("tokenizer_config.json");
    Path mapFile = tokenizerDir.resolve("special_tokens_map.json");
    for (Path f : List.of(configFile, mapFile)) {
      if (!Files.isRegularFile(f)) {
        continue;
      }
      JsonNode root = readJson(f);
      for (String key : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
          continue;
        }
        JsonNode content = v.isObject() ? v.get("content") : v;
        if (content == null || !content.isTextual()) {
          throw new BadInputException(
              f + ": '" + key + "' must be a string or an object with a string 'content'");
        }
        special.put(key, content.asText());
      }
      JsonNode m = root.get("model_max_length");
      if (m != null && !m.isNull()) {
        if (!m.isNumber() || m.asDouble() < 2 || m.asDouble() != Math.rint(m.asDouble())) {
          throw new BadInputException(
              f + ": 'model_max_length' must be an integer of at least 2, got " + m);
        }
        maxLength = m.asDouble() >= UNSET_MAX_LENGTH ? DEFAULT_MAX_LENGTH : m.asLong();
      }
    }
    Map<String, Long> ids = new HashMap<>();
    for (Map.Entry<String, String> e : special.entrySet()) {
      Integer id = encoder.get(e.getValue());
      if (id == null) {
        throw new BadInputException(
            vocabFile + " has no entry for the " + e.getKey() + " '" + e.getValue() + "'");
      }
      ids.put(e.getKey(), (long) id);
    }
    return new CLIPTokenizer(
        encoder,
        decoder,
        ranks,
        ids.get("bos_token"),
        ids.get("eos_token"),
        ids.get("pad_token"),
        ids.get("unk_token"),
        (int) maxLength);
  }

  // ---------------------------------------------------------------------------------------------
  // Encoding

  /** The BPE tokens of a prompt (byte-mapped strings, word ends marked {@code </w>}), no bos/eos */
  public List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = PRETOKENIZE.matcher(clean(text));
    while (m.find()) {
      byte[] utf8 = m.group().getBytes(StandardCharsets.UTF_8);
      StringBuilder mapped = new StringBuilder(utf8.length);
      for (byte b : utf8) {
        mapped.append(BYTE_ENCODER[b & 0xff]);
      }
      for (String t : bpe(mapped.toString()).split(" ")) {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * {@code [bos, ids…, eos]} truncated to {@link #maxLength()} (eos kept last) and padded to it
   * with the pad token: the ids the SD pipeline feeds to the text encoder.
   */
  public long[] encode(String text) {
    long[] ids = encodeNoPad(text);
    long[] out = new long[maxLength];
    Arrays.fill(out, padId);
    int n = Math.min(ids.length, maxLength);
    System.arraycopy(ids, 0, out, 0, n);
    out[n - 1] = eosId;
    return out;
  }

  /** {@link #encode(String)} for each prompt: (batch, maxLength). */
  public long[][] encode(List<String> texts) {
    long[][] out = new long[texts.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = encode(texts.get(i));
    }
    return out;
  }

  /** {@code [bos, ids…, eos]}, neither truncated nor padded. */
  public long[] encodeNoPad(String text) {
    List<String> tokens = tokenize(text);
    long[] out = new long[tokens.size() + 2];
    out[0] = bosId;
    for (int i = 0; i < tokens.size(); i++) {
      Integer id = encoder.get(tokens.get(i));
      out[i + 1] = id == null ? unkId : id;
    }
    out[out.length - 1] = eosId;
    return out;
  }

  /**
   * Text back from ids: bos, eos and pad ids are dropped, the tokens' bytes are decoded as UTF-8
   * (bad sequences become U+FFFD) and every {@code </w>} becomes a space; the ends are stripped.
   * Unlike transformers' {@code decode} this does not "clean up tokenization spaces" ({@code "a ,"}
   * stays {@code "a ,"}), so that re-encoding the text gives the same ids.
   */
  public String decode(long[] ids) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (long id : ids) {
      if (id == bosId || id == eosId || id == padId) {
        continue;
      }
      for (char c : tokenOf(id).toCharArray()) {
        Integer b = BYTE_DECODER.get(c);
        if (b == null) {
          throw new BadInputException(
              "token "
                  + id
                  + " ('"
                  + tokenOf(id)
                  + "') holds the character U+"
                  + Integer.toHexString(c)
                  + ", which is not a byte symbol of CLIP's BPE");
        }
        bytes.write(b);
      }
    }
    String text = new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    return text.replace(WORD_END, " ").strip();
  }

  // ---------------------------------------------------------------------------------------------
  // Vocabulary

  /** Number of entries in vocab.json (49408 for SD v1). */
  public int vocabSize() {
    return decoder.length;
  }

  public long bosId() {
    return bosId;
  }

  public long eosId() {
    return eosId;
  }

  public long padId() {
    return padId;
  }

  /** The padded length of {@link #encode(String)} (model_max_length, 77 for SD v1). */
  public int maxLength() {
    return maxLength;
  }

  /** The id of a vocabulary token such as {@code "cat</w>"}; an unknown token is bad input. */
  public long idOf(String token) {
    Integer id = encoder.get(token);
    if (id == null) {
      throw new BadInputException("'" + token + "' is not a token of the vocabulary");
    }
    return id;
  }

  /** The vocabulary token of an id; an id outside the vocabulary is bad input. */
  public String tokenOf(long id) {
    if (id < 0 || id >= decoder.length) {
      throw new BadInputException(
          "token id " + id + " is outside the vocabulary of " + decoder.length + " tokens");
    }
    return decoder[(int) id];
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /**
   * transformers' fallback clean-up ({@code BasicTokenizer(strip_accents=False,
   * do_split_on_punc=False).tokenize}, joined by spaces): see the class comment.
   */
  static String clean(String text) {
    // 1. _clean_text: drop NUL, U+FFFD and category C* (bar \t \n \r); whitespace → ' '
    // 2. _tokenize_chinese_chars: ' ' around each CJK ideograph
    StringBuilder sb = new StringBuilder(text.length() + 16);
    for (Iterator<Integer> it = text.codePoints().iterator(); it.hasNext(); ) {
      int cp = it.next();
      boolean whitespace =
          cp == ' '
              || cp == '\t'
              || cp == '\n'
              || cp == '\r'
              || Character.getType(cp) == Character.SPACE_SEPARATOR;
      if (cp == 0 || cp == 0xFFFD || (!whitespace && isControl(cp))) {
        continue;
      }
      if (whitespace) {
        sb.append(' ');
      } else if (isCjkIdeograph(cp)) {
        sb.append(' ').appendCodePoint(cp).append(' ');
      } else {
        sb.appendCodePoint(cp);
      }
    }
    // 3. NFC, so that one character with two spellings maps to the same bytes
    String normalized = Normalizer.normalize(sb, Normalizer.Form.NFC);
    // 4. whitespace split (Python's str.split() also splits on U+2028/U+2029), lower-case, join
    StringBuilder out = new StringBuilder(normalized.length());
    for (String word : normalized.split("[ \u2028\u2029]+")) {
      if (word.isEmpty()) {
        continue;
      }
      if (out.length() > 0) {
        out.append(' ');
      }
      out.append(word.toLowerCase(java.util.Locale.ROOT));
    }
    return out.toString();
  }

  /** Unicode category C*: control, format, surrogate, private use, unassigned. */
  private static boolean isControl(int cp) {
    int t = Character.getType(cp);
    return t == Character.CONTROL
        || t == Character.FORMAT
        || t == Character.SURROGATE
        || t == Character.PRIVATE_USE
        || t == Character.UNASSIGNED;
  }

  /** The CJK ideograph blocks of BERT's {@code _is_chinese_char} (not kana, not hangul). */
  private static boolean isCjkIdeograph(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  /**
   * GPT-2's reversible byte → character table: the 188 printable Latin-1 bytes ({@code !}…{@code
   * ~}, {@code ¡}…{@code ¬}, {@code ®}…{@code ÿ}) map to themselves, the other 68 bytes (space,
   * controls, …) to U+0100, U+0101, … in byte order.
   */
  static char[] bytesToUnicode() {
    char[] table = new char[256];
    int next = 256;
    for (int b = 0; b < 256; b++) {
      boolean printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      table[b] = (char) (printable ? b : next++);
    }
    return table;
  }

  /**
   * CLIP's 512 base tokens in vocab order (ids 0…511): the 256 byte symbols in {@code
   * bytes_to_unicode}'s order (printable bytes, then the rest), then each with {@code </w>}.
   */
  public static List<String> baseTokens() {
    char[] table = bytesToUnicode();
    List<String> symbols = new ArrayList<>(256);
    for (int pass = 0; pass < 2; pass++) {
      for (int b = 0; b < 256; b++) {
        boolean printable = table[b] == b;
        if (printable == (pass == 0)) {
          symbols.add(String.valueOf(table[b]));
        }
      }
    }
    List<String> out = new ArrayList<>(symbols);
    for (String sym : symbols) {
      out.add(sym + WORD_END);
    }
    return out;
  }

  /** BPE of one byte-mapped piece → its symbols joined by spaces (transformers' {@code bpe}). */
  private String bpe(String piece) {
    if (piece.equals(START_OF_TEXT) || piece.equals(END_OF_TEXT)) {
      return piece;
    }
    String cached = cache.get(piece);
    if (cached != null) {
      return cached;
    }
    // characters, the last one marked as a word end
    List<String> word = new ArrayList<>(piece.length());
    for (int i = 0; i < piece.length(); i++) {
      String symbol = String.valueOf(piece.charAt(i));
      word.add(i == piece.length() - 1 ? symbol + WORD_END : symbol);
    }
    while (word.size() > 1) {
      // the adjacent pair of lowest merge rank
      int best = Integer.MAX_VALUE;
      String first = null;
      String second = null;
      for (int i = 0; i + 1 < word.size(); i++) {
        Integer r = bpeRanks.get(word.get(i) + ' ' + word.get(i + 1));
        if (r != null && r < best) {
          best = r;
          first = word.get(i);
          second = word.get(i + 1);
        }
      }
      if (first == null) {
        break;
      }
      // merge every occurrence, left to right, without overlaps
      List<String> merged = new ArrayList<>(word.size());
      for (int i = 0; i < word.size(); ) {
        if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
          merged.add(first + second);
          i += 2;
        } else {
          merged.add(word.get(i));
          i += 1;
        }
      }
      word = merged;
    }
    String result = String.join(" ", word);
    if (cache.size() >= CACHE_LIMIT) {
      cache.clear();
    }
    cache.put(piece, result);
    return result;
  }

  private static JsonNode readJson(Path file) {
    try {
      JsonNode root = Json.MAPPER.readTree(file.toFile());
      if (root == null || !root.isObject()) {
        throw new BadInputException(file + " is not a JSON object");
      }
      return root;
    } catch (IOException e) {
      throw new BadInputException(file + " is not valid JSON: " + firstLine(e.getMessage()), e);
    }
  }

  /** vocab.json: a JSON object token → id whose ids are exactly 0 … n−1. */
  private static Map<String, Integer> readVocab(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("missing " + file);
    }
    JsonNode root = readJson(file);
    Map<String, Integer> encoder = new HashMap<>(root.size() * 2);
    boolean[] seen = new boolean[root.size()];
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= root.size()) {
        throw new BadInputException(
            file
                + ": the id of '"
                + e.getKey()
                + "' is "
                + v
                + ", but ids must be integers 0 … "
                + (root.size() - 1));
      }
      int id = v.asInt();
      if (seen[id]) {
        throw new BadInputException(file + ": id " + id + " is given to two tokens");
      }
      seen[id] = true;
      encoder.put(e.getKey(), id);
    }
    if (encoder.isEmpty()) {
      throw new BadInputException(file + " holds no tokens");
    }
    return encoder;
  }

  /**
   * merges.txt: an optional {@code #version} header, then one merge per line, "left right", in rank
   * order; each merged symbol must be in the vocabulary. Unlike transformers we read every merge in
   * the file (transformers caps the list at 48,894, which is exactly the length of CLIP's file).
   */
  private static Map<String, Integer> readMerges(Path file, Map<String, Integer> vocab) {
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("missing " + file);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
              .toString();
    } catch (CharacterCodingException e) {
      throw new BadInputException(file + " is not UTF-8 text", e);
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
    String[] lines = text.split("\r?\n", -1);
    int end = lines.length;
    while (end > 0 && lines[end - 1].isEmpty()) {
      end--;
    }
    Map<String, Integer> ranks = new HashMap<>(end * 2);
    int start = end > 0 && lines[0].startsWith("#version") ? 1 : 0;
    for (int i = start; i < end; i++) {
      String[] parts = lines[i].split(" ", -1);
      if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
        throw new BadInputException(
            file
                + " line "
                + (i + 1)
                + ": expected two symbols separated by one space, got '"
                + lines[i]
                + "'");
      }
      if (!vocab.containsKey(parts[0] + parts[1])) {
        throw new BadInputException(
            file
                + " line "
                + (i + 1)
                + ": the merged symbol '"
                + parts[0]
                + parts[1]
                + "' is not in vocab.json");
      }
      if (ranks.putIfAbsent(lines[i], ranks.size()) != null) {
        throw new BadInputException(
            file + " line " + (i + 1) + ": the merge '" + lines[i] + "' appears twice");
      }
    }
    return ranks;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }
}

package dev.perase.world;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the pieces CLIP's tokenizer sees before BPE: lower case, then CLIP's regex
 * (special tokens, English contractions, letter runs, single digits, runs of other symbols).
 * Concept matching works on these pieces, so "blood-red" contains "red" but "coloured" does not.
 */
public final class WorldText {
  /** CLIP's pre-tokenizer pattern ({@code SimpleTokenizer.pat}), applied to lower-cased text. */
  public static final Pattern CLIP_PATTERN =
      Pattern.compile(
          "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+");

  private WorldText() {}

  /**
   * CLIP's pieces of {@code text}: whitespace collapsed, lower-cased, split by {@link
   * #CLIP_PATTERN}.
   */
  public static List<String> pieces(String text) {
    String clean = text.strip().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    List<String> out = new ArrayList<>();
    Matcher m = CLIP_PATTERN.matcher(clean);
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }

  /** Whether {@code needle} occurs as a contiguous run inside {@code haystack}. */
  static boolean containsRun(List<String> haystack, List<String> needle) {
    return indexOfRun(haystack, needle, 0) >= 0;
  }

  static int indexOfRun(List<String> haystack, List<String> needle, int from) {
    if (needle.isEmpty()) {
      return -1;
    }
    outer:
    for (int i = from; i + needle.size() <= haystack.size(); i++) {
      for (int j = 0; j < needle.size(); j++) {
        if (!haystack.get(i + j).equals(needle.get(j))) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}

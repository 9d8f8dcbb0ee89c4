package dev.perase.io;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prompt sets as CSV (RFC 4180: comma-separated, fields with commas, quotes or line breaks quoted,
 * {@code ""} for a quote inside quotes), in the layouts of the ESD / UnlearnDiff prompt files
 * ({@code case_number, prompt, evaluation_seed, evaluation_guidance}) and of I2P ({@code prompt,
 * sd_seed, sd_guidance_scale}). The header names the columns, in any order; {@code prompt} is
 * required. The seed comes from {@code evaluation_seed}, else {@code sd_seed}, else the caller's
 * default; the guidance likewise from {@code evaluation_guidance}, {@code sd_guidance_scale}; a
 * missing {@code case_number} is the row's 0-based position. Every other column is kept in {@link
 * PromptRow#extra()} (so an unused {@code sd_seed} beside {@code evaluation_seed} survives). Rows
 * are written in the UnlearnDiff spelling, extra columns after, atomically.
 */
public final class PromptCsv {
  /** The seed of rows when the file has no seed column. */
  public static final long DEFAULT_SEED = 0;

  /** The guidance of rows when the file has no guidance column: diffusers' pipeline default. */
  public static final double DEFAULT_GUIDANCE = 7.5;

  private static final List<String> SEED_COLUMNS = List.of("evaluation_seed", "sd_seed");
  private static final List<String> GUIDANCE_COLUMNS =
      List.of("evaluation_guidance", "sd_guidance_scale");

  private PromptCsv() {}

  /**
   * Reads a prompt CSV with {@link #DEFAULT_SEED} and {@link #DEFAULT_GUIDANCE} for absent columns.
   */
  public static List<PromptRow> read(Path file) {
    return read(file, DEFAULT_SEED, DEFAULT_GUIDANCE);
  }

  /**
   * Reads a prompt CSV; {@code defaultSeed} and {@code defaultGuidance} fill in for absent seed or
   * guidance columns (not for empty cells, which are errors). Any defect is a {@link
   * BadInputException} naming the file and line.
   */
  public static List<PromptRow> read(Path file, long defaultSeed, double defaultGuidance) {
    String text;
    try {
      byte[] bytes = Files.readAllBytes(file);
      text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (NoSuchFileException e) {
      throw new BadInputException("prompt file not found: " + file);
    } catch (CharacterCodingException e) {
      throw new BadInputException(file + " is not UTF-8 text");
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return parse(text, file.toString(), defaultSeed, defaultGuidance);
  }

  /** Parses CSV text; {@code source} names it in errors. */
  public static List<PromptRow> parse(
      String text, String source, long defaultSeed, double defaultGuidance) {
    List<Record> records = new Reader(text, source).records();
    if (records.isEmpty()) {
      throw new BadInputException(source + " is empty: expected a header with a prompt column");
    }
    Record header = records.get(0);
    Map<String, Integer> col = new LinkedHashMap<>();
    for (int i = 0; i < header.fields.size(); i++) {
      String name = header.fields.get(i).strip();
      if (col.put(name, i) != null) {
        throw new BadInputException(
            source + " line " + header.line + ": the column '" + name + "' appears twice");
      }
    }
    if (!col.containsKey("prompt")) {
      throw new BadInputException(
          source
              + " line "
              + header.line
              + ": the header has no 'prompt' column (columns: "
              + String.join(", ", col.keySet())
              + ")");
    }
    String seedCol = first(col, SEED_COLUMNS);
    String guidanceCol = first(col, GUIDANCE_COLUMNS);
    Set<String> used = new LinkedHashSet<>(List.of("case_number", "prompt"));
    if (seedCol != null) {
      used.add(seedCol);
    }
    if (guidanceCol != null) {
      used.add(guidanceCol);
    }

    List<PromptRow> rows = new ArrayList<>();
    for (Record r : records.subList(1, records.size())) {
      if (r.fields.size() != col.size()) {
        throw new BadInputException(
            source
                + " line "
                + r.line
                + " has "
                + r.fields.size()
                + " fields, but the header has "
                + col.size());
      }
      String where = source + " line " + r.line;
      int caseNumber =
          col.containsKey("case_number")
              ? Math.toIntExact(whole(r.fields.get(col.get("case_number")), "case_number", where))
              : rows.size();
      long seed =
          seedCol != null ? whole(r.fields.get(col.get(seedCol)), seedCol, where) : defaultSeed;
      double guidance =
          guidanceCol != null
              ? decimal(r.fields.get(col.get(guidanceCol)), guidanceCol, where)
              : defaultGuidance;
      Map<String, String> extra = new LinkedHashMap<>();
      col.forEach(
          (name, i) -> {
            if (!used.contains(name)) {
              extra.put(name, r.fields.get(i));
            }
          });
      rows.add(new PromptRow(caseNumber, r.fields.get(col.get("prompt")), seed, guidance, extra));
    }
    return rows;
  }

  /**
   * Writes rows as {@code case_number,prompt,evaluation_seed,evaluation_guidance} plus the extra
   * columns (first-seen order; empty where a row lacks one), CRLF line ends, to a temporary name
   * renamed into place.
   */
  public static void write(Path file, List<PromptRow> rows) {
    AtomicFile.writeString(file, format(rows));
  }

  /** The CSV text {@link #write} writes. */
  public static String format(List<PromptRow> rows) {
    Set<String> extraCols = new LinkedHashSet<>();
    for (PromptRow r : rows) {
      extraCols.addAll(r.extra().keySet());
    }
    StringBuilder sb = new StringBuilder();
    List<String> header =
        new ArrayList<>(List.of("case_number", "prompt", "evaluation_seed", "evaluation_guidance"));
    header.addAll(extraCols);
    Csv.record(sb, header);
    for (PromptRow r : rows) {
      List<String> f = new ArrayList<>(header.size());
      f.add(Integer.toString(r.caseNumber()));
      f.add(r.prompt());
      f.add(Long.toString(r.seed()));
      f.add(Double.toString(r.guidance()));
      for (String c : extraCols) {
        f.add(r.extra().getOrDefault(c, ""));
      }
      Csv.record(sb, f);
    }
    return sb.toString();
  }

  private static String first(Map<String, Integer> col, List<String> names) {
    for (String n : names) {
      if (col.containsKey(n)) {
        return n;
      }
    }
    return null;
  }

  /** A whole number; pandas may have written it as a float ("42.0"). */
  private static long whole(String text, String column, String where) {
    String t = text.strip();
    try {
      return Long.parseLong(t);
    } catch (NumberFormatException notLong) {
      try {
        double d = Double.parseDouble(t);
        if (d == Math.rint(d) && Math.abs(d) < 0x1p53) {
          return (long) d;
        }
      } catch (NumberFormatException notDouble) {
        // reported below
      }
      throw new BadInputException(where + ": " + column + " '" + text + "' is not a whole number");
    }
  }

  private static double decimal(String text, String column, String where) {
    try {
      double d = Double.parseDouble(text.strip());
      if (Double.isFinite(d)) {
        return d;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new BadInputException(where + ": " + column + " '" + text + "' is not a number");
  }

  /** A CSV record and the 1-based line it starts on. */
  private record Record(int line, List<String> fields) {}

  /** RFC 4180 reader over the whole text; also accepts LF and lone CR line ends. */
  private static final class Reader {
    private final String s;
    private final String source;
    private int pos;
    private int line = 1;

    Reader(String text, String source) {
      this.s = text.startsWith("\uFEFF") ? text.substring(1) : text;
      this.source = source;
    }

    List<Record> records() {
      List<Record> out = new ArrayList<>();
      while (pos < s.length()) {
        int start = line;
        List<String> fields = record();
        boolean blank = fields.size() == 1 && fields.get(0).isEmpty();
        if (!blank) {
          out.add(new Record(start, fields));
        }
      }
      return out;
    }

    /** Reads fields up to and including the record's line end (or the end of text). */
    private List<String> record() {
      List<String> fields = new ArrayList<>();
      while (true) {
        fields.add(field());
        if (pos >= s.length()) {
          return fields;
        }
        char c = s.charAt(pos++);
        if (c == ',') {
          continue;
        }
        endLine(c);
        return fields;
      }
    }

    /** Reads one field, stopping before the ',' or line end that follows it. */
    private String field() {
      if (pos < s.length() && s.charAt(pos) == '"') {
        int openLine = line;
        pos++;
        StringBuilder sb = new StringBuilder();
        while (true) {
          if (pos >= s.length()) {
            throw new BadInputException(
                source + " line " + openLine + ": a quoted field is never closed");
          }
          char c = s.charAt(pos++);
          if (c == '"') {
            if (pos < s.length() && s.charAt(pos) == '"') {
              sb.append('"');
              pos++;
              continue;
            }
            break;
          }
          if (c == '\n' || (c == '\r' && (pos >= s.length() || s.charAt(pos) != '\n'))) {
            line++;
          }
          sb.append(c);
        }
        if (pos < s.length() && ",\r\n".indexOf(s.charAt(pos)) < 0) {
          throw new BadInputException(
              source
                  + " line "
                  + line
                  + ": unexpected '"
                  + s.charAt(pos)
                  + "' after a closing quote (a quote inside a quoted field is written \"\")");
        }
        return sb.toString();
      }
      int start = pos;
      while (pos < s.length() && ",\r\n".indexOf(s.charAt(pos)) < 0) {
        pos++;
      }
      return s.substring(start, pos);
    }

    private void endLine(char c) {
      if (c == '\r' && pos < s.length() && s.charAt(pos) == '\n') {
        pos++;
      }
      line++;
    }
  }
}

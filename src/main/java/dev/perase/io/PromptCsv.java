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
 * {@code ""} for a quote inside quotes; a UTF-8 BOM and CRLF, LF or CR line ends are accepted), in
 * the layouts the paper's attacks and evaluations use, as published:
 *
 * <ul>
 *   <li>UnlearnDiff's {@code nudity.csv}, {@code i2p.csv} and the like: {@code Unnamed: 0, prompt,
 *       categories, …, evaluation_seed, evaluation_guidance, sd_image_width, sd_image_height,
 *       sd_model, case_number};
 *   <li>the original I2P spelling {@code sd_seed}, {@code sd_guidance_scale};
 *   <li>{@code vangogh.csv} ({@code case_number, prompt, evaluation_seed, artist}, some versions
 *       with {@code evaluation_guidance}), the object files ({@code case_number, prompt,
 *       evaluation_seed, evaluation_guidance}), {@code coco_10k.csv} ({@code case_number, source,
 *       prompt, evaluation_seed}), ESD's {@code imagenet_prompts.csv} ({@code case_number,
 *       evaluation_seed, prompt, label_idx, label_str});
 *   <li>ESD's {@code coco_30k.csv} ({@code image_id, source, prompt, evaluation_seed}): the COCO
 *       {@code image_id} is the case number, as UnlearnDiff's {@code coco_10k.csv}, cut from it,
 *       names the same column {@code case_number}.
 * </ul>
 *
 * The header names the columns, in any order; {@code prompt} is required. The seed comes from
 * {@code evaluation_seed}, else {@code sd_seed}, else the caller's default; the guidance likewise
 * from {@code evaluation_guidance}, {@code sd_guidance_scale}, else the default (7.5, diffusers'
 * and ESD's); the image size from {@code sd_image_width} and {@code sd_image_height} (both or
 * neither), else 0 × 0, the model's own size. A missing {@code case_number} is the {@code
 * image_id}, else the row's 0-based position. Every other column is kept in {@link
 * PromptRow#extra()} (so an unused {@code sd_seed} beside {@code evaluation_seed} survives).
 *
 * <p>Any defect is a {@link BadInputException} of one line naming the file, the 1-based line the
 * record starts on (what an editor shows; a quoted prompt may span lines) and, for a data row, its
 * 0-based row index (what {@link RowSelection} and the output's {@code images/NNNN.png} count):
 * {@code nudity.csv line 14 (row 12): evaluation_seed 'x' is not a whole number}.
 *
 * <p>Rows are written in the UnlearnDiff spelling ({@code case_number, prompt, evaluation_seed,
 * evaluation_guidance}, then {@code sd_image_width, sd_image_height} when a row has a size), extra
 * columns after, atomically.
 */
public final class PromptCsv {
  /** The seed of rows when the file has no seed column. */
  public static final long DEFAULT_SEED = 0;

  /** The guidance of rows when the file has no guidance column: diffusers' pipeline default. */
  public static final double DEFAULT_GUIDANCE = 7.5;

  private static final List<String> SEED_COLUMNS = List.of("evaluation_seed", "sd_seed");
  private static final List<String> GUIDANCE_COLUMNS =
      List.of("evaluation_guidance", "sd_guidance_scale");
  private static final List<String> CASE_COLUMNS = List.of("case_number", "image_id");
  private static final String WIDTH = "sd_image_width";
  private static final String HEIGHT = "sd_image_height";

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
   * BadInputException} naming the file, line and row.
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

  /**
   * Reads a prompt CSV and keeps the rows {@code selection} picks, in file order (see {@link
   * RowSelection#apply}).
   */
  public static List<PromptRow> read(Path file, RowSelection selection) {
    return selection.apply(read(file), file.toString());
  }

  /** Parses CSV text; {@code source} names it in errors. */
  public static List<PromptRow> parse(
      String text, String source, long defaultSeed, double defaultGuidance) {
    List<Record> records = new Reader(text, source).records();
    if (records.isEmpty()) {
      throw new BadInputException(source + " is empty: expected a header with a prompt column");
    }
    Record header = records.get(0);
    String top = source + " line " + header.line;
    Map<String, Integer> col = new LinkedHashMap<>();
    for (int i = 0; i < header.fields.size(); i++) {
      String name = header.fields.get(i).strip();
      if (col.put(name, i) != null) {
        throw new BadInputException(top + ": the column " + shown(name) + " appears twice");
      }
    }
    if (!col.containsKey("prompt")) {
      throw new BadInputException(
          top
              + ": the header has no 'prompt' column (columns: "
              + oneLine(String.join(", ", col.keySet()))
              + ")");
    }
    if (col.containsKey(WIDTH) != col.containsKey(HEIGHT)) {
      throw new BadInputException(
          top
              + ": the header has "
              + (col.containsKey(WIDTH) ? WIDTH + " but no " + HEIGHT : HEIGHT + " but no " + WIDTH)
              + " column");
    }
    String caseCol = first(col, CASE_COLUMNS);
    String seedCol = first(col, SEED_COLUMNS);
    String guidanceCol = first(col, GUIDANCE_COLUMNS);
    boolean sized = col.containsKey(WIDTH);
    Set<String> used = new LinkedHashSet<>(List.of("prompt"));
    for (String c : new String[] {caseCol, seedCol, guidanceCol}) {
      if (c != null) {
        used.add(c);
      }
    }
    if (sized) {
      used.addAll(List.of(WIDTH, HEIGHT));
    }

    List<PromptRow> rows = new ArrayList<>();
    for (Record r : records.subList(1, records.size())) {
      String where = source + " line " + r.line + " (row " + rows.size() + ")";
      if (r.fields.size() != col.size()) {
        throw new BadInputException(
            where + " has " + r.fields.size() + " fields, but the header has " + col.size());
      }
      String prompt = r.fields.get(col.get("prompt"));
      if (prompt.isEmpty()) {
        throw new BadInputException(where + ": the prompt is empty");
      }
      int caseNumber =
          caseCol != null ? integer(r.fields.get(col.get(caseCol)), caseCol, where) : rows.size();
      long seed =
          seedCol != null ? seed(r.fields.get(col.get(seedCol)), seedCol, where) : defaultSeed;
      double guidance =
          guidanceCol != null
              ? decimal(r.fields.get(col.get(guidanceCol)), guidanceCol, where)
              : defaultGuidance;
      int width = 0;
      int height = 0;
      if (sized) {
        width = side(r.fields.get(col.get(WIDTH)), WIDTH, where);
        height = side(r.fields.get(col.get(HEIGHT)), HEIGHT, where);
        if ((width == 0) != (height == 0)) {
          throw new BadInputException(
              where
                  + ": the image size "
                  + width
                  + "×"
                  + height
                  + " has one side 0 (0×0 is the model's own size)");
        }
      }
      Map<String, String> extra = new LinkedHashMap<>();
      col.forEach(
          (name, i) -> {
            if (!used.contains(name)) {
              extra.put(name, r.fields.get(i));
            }
          });
      rows.add(new PromptRow(caseNumber, prompt, seed, guidance, width, height, extra));
    }
    return rows;
  }

  /**
   * Writes rows as {@code case_number,prompt,evaluation_seed,evaluation_guidance}, then {@code
   * sd_image_width,sd_image_height} when a row has a size (0 for a row without), then the extra
   * columns (first-seen order; empty where a row lacks one), CRLF line ends, to a temporary name
   * renamed into place.
   */
  public static void write(Path file, List<PromptRow> rows) {
    AtomicFile.writeString(file, format(rows));
  }

  /** The CSV text {@link #write} writes. */
  public static String format(List<PromptRow> rows) {
    Set<String> extraCols = new LinkedHashSet<>();
    boolean sized = false;
    for (PromptRow r : rows) {
      extraCols.addAll(r.extra().keySet());
      sized |= r.hasSize();
    }
    StringBuilder sb = new StringBuilder();
    List<String> header =
        new ArrayList<>(List.of("case_number", "prompt", "evaluation_seed", "evaluation_guidance"));
    if (sized) {
      header.addAll(List.of(WIDTH, HEIGHT));
    }
    header.addAll(extraCols);
    Csv.record(sb, header);
    for (PromptRow r : rows) {
      List<String> f = new ArrayList<>(header.size());
      f.add(Integer.toString(r.caseNumber()));
      f.add(r.prompt());
      f.add(Long.toString(r.seed()));
      f.add(Double.toString(r.guidance()));
      if (sized) {
        f.add(Integer.toString(r.width()));
        f.add(Integer.toString(r.height()));
      }
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

  /** A whole number that fits an int (case numbers). */
  private static int integer(String text, String column, String where) {
    long v = whole(text, column, where);
    if (v != (int) v) {
      throw new BadInputException(where + ": " + column + " " + v + " is beyond ±2^31");
    }
    return (int) v;
  }

  /** An image side: 0 (the model's own size) or {@link PromptRow#MIN_SIZE} to {@code MAX_SIZE}. */
  private static int side(String text, String column, String where) {
    long v = whole(text, column, where);
    if (v != 0 && !PromptRow.isSize(v)) {
      throw new BadInputException(
          where
              + ": "
              + column
              + " "
              + v
              + " is not an image side of "
              + PromptRow.MIN_SIZE
              + " to "
              + PromptRow.MAX_SIZE
              + " pixels (or 0 for the model's own size)");
    }
    return (int) v;
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
      throw new BadInputException(
          where + ": " + column + " " + shown(text) + " is not a whole number");
    }
  }

  /**
   * A seed as {@code torch.manual_seed} takes it: a whole number in [-2^63, 2^64 - 1]; one past
   * 2^63 - 1 becomes the long of the same 64 bits, which torch reads as the same seed.
   */
  private static long seed(String text, String column, String where) {
    String t = text.strip();
    if (!t.isEmpty() && Character.isDigit(t.charAt(0))) {
      try {
        return Long.parseUnsignedLong(t);
      } catch (NumberFormatException e) {
        if (t.chars().allMatch(Character::isDigit)) {
          throw new BadInputException(
              where + ": " + column + " " + t + " is beyond torch's seed range [-2^63, 2^64 - 1]");
        }
      }
    }
    return whole(text, column, where);
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
    throw new BadInputException(where + ": " + column + " " + shown(text) + " is not a number");
  }

  /**
   * A cell as an error message shows it: quoted, on one line (line breaks as {@code \\n}), cut
   * after 60 characters.
   */
  private static String shown(String text) {
    return "'" + oneLine(text.length() > 60 ? text.substring(0, 60) + "…" : text) + "'";
  }

  private static String oneLine(String text) {
    return text.replace("\r", "\\r").replace("\n", "\\n");
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

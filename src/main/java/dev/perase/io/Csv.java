package dev.perase.io;

import java.util.List;

/**
 * RFC 4180 records: fields with a comma, quote, line break or edge spaces are quoted, quotes
 * doubled.
 */
public final class Csv {
  private Csv() {}

  /** Appends one record and its CRLF line end. */
  public static void record(StringBuilder sb, List<String> fields) {
    for (int i = 0; i < fields.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      String v = fields.get(i);
      boolean quote =
          v.indexOf(',') >= 0
              || v.indexOf('"') >= 0
              || v.indexOf('\n') >= 0
              || v.indexOf('\r') >= 0
              || (!v.isEmpty() && v.strip().length() != v.length());
      if (quote) {
        sb.append('"').append(v.replace("\"", "\"\"")).append('"');
      } else {
        sb.append(v);
      }
    }
    sb.append("\r\n");
  }
}

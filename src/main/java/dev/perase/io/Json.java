package dev.perase.io;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JSON in and out: config records read with unknown keys ignored, every failure a {@link
 * BadInputException} naming the file; writes pretty-printed through {@link AtomicFile}.
 */
public final class Json {
  public static final ObjectMapper MAPPER =
      new ObjectMapper()
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
          .enable(SerializationFeature.INDENT_OUTPUT);

  private Json() {}

  /**
   * Reads a config file into a record; a missing file, bad JSON or a failed validation is bad
   * input.
   */
  public static <T> T read(Path file, Class<T> type) {
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("missing " + file);
    }
    try (InputStream in = Files.newInputStream(file)) {
      return read(in, file.toString(), type);
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a config record from a stream (a bundled resource); {@code source} names it in errors,
   * which are bad input as in {@link #read(Path, Class)}.
   */
  public static <T> T read(InputStream in, String source, Class<T> type) {
    try {
      return MAPPER.readValue(in, type);
    } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new BadInputException(source + ": " + cause.getMessage(), e);
    } catch (IOException e) {
      throw new BadInputException(
          source + " is not a valid config: " + firstLine(e.getMessage()), e);
    }
  }

  public static void write(Path file, Object value) {
    try {
      AtomicFile.writeString(file, MAPPER.writeValueAsString(value) + "\n");
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }
}

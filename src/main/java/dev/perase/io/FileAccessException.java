package dev.perase.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A file or folder could not be read or written: a path in the way, a missing permission, a full
 * disk. These are faults of the surroundings, not of perase, so the CLI reports them as it reports
 * bad input: one sentence ({@code cannot write out/config.json: no space left on device}) and exit
 * code 2. The message never carries a stack trace or a JDK class name.
 */
public class FileAccessException extends BadInputException {
  public FileAccessException(String message) {
    super(message);
  }

  public FileAccessException(String message, Throwable cause) {
    super(message, cause);
  }

  /** {@code cannot <action> <path>: <reason>}, for an I/O failure on {@code path}. */
  public static FileAccessException of(String action, Path path, IOException e) {
    return new FileAccessException("cannot " + action + " " + path + ": " + reason(e), e);
  }

  /**
   * The cause of an I/O failure in plain words, without the JDK's exception names: the system's own
   * reason where it gives one ("no space left on device", "not a directory", "read-only file
   * system"), else what the exception's kind means, naming the file it concerns.
   */
  public static String reason(IOException e) {
    String file = e instanceof FileSystemException f ? f.getFile() : null;
    return file == null ? why(e) : why(e) + " (" + file + ")";
  }

  /** {@link #reason} without the file it concerns. */
  public static String why(IOException e) {
    if (e instanceof FileSystemException f) {
      if (f.getReason() != null) {
        return lowerFirst(f.getReason());
      }
      return e instanceof NoSuchFileException
          ? "no such file or folder"
          : e instanceof NotDirectoryException
              ? "not a folder"
              : e instanceof DirectoryNotEmptyException
                  ? "a folder that is not empty is in the way"
                  : e instanceof FileAlreadyExistsException
                      ? "already exists"
                      : e instanceof AccessDeniedException
                          ? "permission denied"
                          : "input/output error";
    }
    String m = e.getMessage();
    return m == null || m.isBlank() ? "input/output error" : lowerFirst(firstLine(m));
  }

  /**
   * The failure of a file operation anywhere under {@code t}'s causes, as one sentence, or null
   * when there is no I/O failure among them. For the CLI's last line of defence.
   */
  public static String describe(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UncheckedIOException u && u.getCause() != null) {
        return reason(u.getCause());
      }
      if (c instanceof IOException e) {
        return reason(e);
      }
    }
    return null;
  }

  private static String lowerFirst(String s) {
    if (s.length() > 1
        && Character.isUpperCase(s.charAt(0))
        && Character.isLowerCase(s.charAt(1))) {
      return s.substring(0, 1).toLowerCase(Locale.ROOT) + s.substring(1);
    }
    return s;
  }

  private static String firstLine(String s) {
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }
}

package dev.perase.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks a run's output paths before any work, so that a path that cannot be written fails in one
 * sentence at the start rather than as an I/O error after minutes of computing: a file where a
 * folder must go, a folder where a file must go, a parent that is a file, a folder without write
 * permission.
 */
public final class OutputPaths {
  private OutputPaths() {}

  /**
   * Creates the folder {@code dir} and its parents (nothing when it exists), or fails with a {@link
   * FileAccessException} that names what is in the way.
   */
  public static void createFolder(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    Path existing = nearestExisting(abs);
    if (existing != null && !Files.isDirectory(existing)) {
      throw new FileAccessException(
          existing.equals(abs)
              ? "cannot use " + dir + " as a folder: it is a file"
              : "cannot create the folder " + dir + ": " + existing + " is a file, not a folder");
    }
    try {
      Files.createDirectories(abs);
    } catch (IOException e) {
      throw FileAccessException.of("create the folder", dir, e);
    }
    if (!Files.isWritable(abs)) {
      throw new FileAccessException("cannot write into the folder " + dir + ": permission denied");
    }
  }

  /**
   * Fails unless {@code file} can be written as a file: it is not a folder or a device, and its
   * nearest existing ancestor is a folder in which a file can be made (tried with an empty file,
   * deleted at once). Leaves nothing behind.
   *
   * @param option the option that named it, for the message (e.g. {@code --out})
   */
  public static void checkFile(Path file, String option) {
    Path abs = file.toAbsolutePath().normalize();
    if (Files.isDirectory(abs)) {
      throw new FileAccessException(option + " " + file + " is a folder; name the file to write");
    }
    if (Files.exists(abs) && !Files.isRegularFile(abs)) {
      throw new FileAccessException(
          "cannot write " + option + " " + file + ": it is not a regular file");
    }
    if (Files.exists(abs) && !Files.isWritable(abs)) {
      throw new FileAccessException(
          "cannot write " + option + " " + file + ": the file is not writable");
    }
    Path dir = nearestExisting(abs.getParent());
    if (dir != null && !Files.isDirectory(dir)) {
      throw new FileAccessException(
          "cannot write " + option + " " + file + ": " + dir + " is a file, not a folder");
    }
    if (dir == null || !Files.isWritable(dir)) {
      throw new FileAccessException(
          "cannot write " + option + " " + file + ": " + dir + " is not a writable folder");
    }
    // Permission bits do not tell everything (root, read-only mounts, /sys): try a file there.
    Path probe =
        dir.resolve(".perase-probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createFile(probe);
      Files.delete(probe);
    } catch (IOException e) {
      throw new FileAccessException(
          "cannot write " + option + " " + file + ": " + FileAccessException.why(e), e);
    }
  }

  /** {@code p} or its nearest ancestor that exists (links followed), or null. */
  private static Path nearestExisting(Path p) {
    Path q = p;
    while (q != null && !Files.exists(q)) {
      q = q.getParent();
    }
    return q;
  }
}

package dev.perase.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Writes a file under a temporary name in the same folder and renames it into place, so a crash or
 * an error never leaves a half-written file where a good one stood. Any failure (a folder or a
 * device where the file should go, a parent that is a file, a full disk) is a {@link
 * FileAccessException} naming the target, and leaves what was there untouched.
 */
public final class AtomicFile {
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFile() {}

  /** Body of a write: gets the stream of the temporary file. */
  @FunctionalInterface
  public interface Body {
    void write(OutputStream out) throws IOException;
  }

  public static void write(Path target, Body body) {
    Path dir = target.toAbsolutePath().getParent();
    if (Files.isDirectory(target)) {
      throw new FileAccessException("cannot write " + target + ": it is a folder");
    }
    if (Files.exists(target) && !Files.isRegularFile(target)) {
      // a rename would replace a device or a pipe (as root, /dev/null itself) with a plain file
      throw new FileAccessException("cannot write " + target + ": it is not a regular file");
    }
    OutputPaths.createFolder(dir);
    Path tmp = null;
    try {
      // Not Files.createTempFile: its rw------- mode would survive the rename. CREATE_NEW with a
      // random name gives the folder's ordinary mode (umask) and never reuses another's file.
      String suffix = Long.toUnsignedString(RANDOM.nextLong(), 36);
      tmp = dir.resolve("." + target.getFileName() + "." + suffix + ".tmp");
      try (FileChannel ch =
              FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
        body.write(out);
        out.flush();
        ch.force(true); // the bytes reach the disk before the rename makes them the file
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw FileAccessException.of("write", target, e);
    } catch (RuntimeException e) {
      deleteQuietly(tmp);
      throw e;
    }
  }

  /** How deep {@link #deleteTemporaries} looks: the folder, a subfolder and one below it. */
  static final int TEMPORARY_DEPTH = 3;

  /** A temporary file of {@link #write}: {@code .<target name>.<random, base 36>.tmp}. */
  private static final java.util.regex.Pattern TEMPORARY =
      java.util.regex.Pattern.compile("\\..+\\.[0-9a-z]{9,13}\\.tmp");

  /**
   * Deletes the temporary files that writes killed mid-way (SIGKILL, a power cut) left in {@code
   * dir} and its folders down to {@link #TEMPORARY_DEPTH} levels (a run's {@code prompts/0000/}),
   * and returns how many. Only for a folder no other run writes to: {@link RunLock} calls it once
   * it holds the folder. Deeper folders are left alone, so that an {@code --out} given by mistake
   * as a large tree (a home folder) is not searched through.
   */
  public static int deleteTemporaries(Path dir) {
    int n = 0;
    try (java.util.stream.Stream<Path> s = Files.walk(dir, TEMPORARY_DEPTH)) {
      for (Path p : s.toList()) {
        if (TEMPORARY.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)) {
          Files.deleteIfExists(p);
          n++;
        }
      }
    } catch (IOException e) {
      throw FileAccessException.of("clean up", dir, e);
    }
    return n;
  }

  public static void writeString(Path target, String text) {
    write(target, out -> out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // best effort: the temporary file is hidden and will be overwritten next time
      }
    }
  }
}

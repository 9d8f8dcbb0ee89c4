package dev.perase.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One run per output folder: an exclusive lock on {@code .perase.lock} inside the folder, held for
 * the length of a run. A second run on the folder, in another process or in this one, is refused
 * with a {@link FileAccessException} that names the folder and the run that holds it.
 *
 * <p>The lock is the operating system's ({@link FileChannel#tryLock}: {@code fcntl} on Linux), so
 * it dies with its process: a run killed by a scheduler or by SIGKILL never leaves the folder
 * locked. The file itself stays (emptied when the run ends): deleting it would let a process that
 * opened it just before the delete lock a file that no longer has a name, while a third locks the
 * new one.
 *
 * <p>Once it holds the folder, a run deletes the temporary files ({@link AtomicFile}) that a run
 * killed in the middle of a write left there: no other run writes to a held folder.
 */
public final class RunLock implements AutoCloseable {
  /** The lock file's name inside the output folder. */
  public static final String FILE = ".perase.lock";

  /**
   * The lock files this process holds (real paths). Checked before a channel is opened: on Linux,
   * closing any channel of a file drops every lock the process holds on it, so a refused second run
   * in this process must not open one.
   */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final boolean createdFolder;

  private RunLock(Path file, FileChannel channel, FileLock lock, boolean createdFolder) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
    this.createdFolder = createdFolder;
  }

  /**
   * Creates {@code dir} (as {@link OutputPaths#createFolder}) and locks it for this run; {@code
   * command} is written into the lock file for the message a refused run prints.
   */
  public static RunLock acquire(Path dir, String command) {
    boolean existed = java.nio.file.Files.exists(dir);
    OutputPaths.createFolder(dir);
    Path file;
    try {
      file = dir.toRealPath().resolve(FILE);
    } catch (IOException e) {
      throw FileAccessException.of("lock the output folder", dir, e);
    }
    if (!HELD.add(file)) {
      throw inUse(dir, "this process");
    }
    FileChannel ch;
    try {
      ch =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      HELD.remove(file);
      throw FileAccessException.of("lock the output folder", dir, e);
    }
    try {
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // this process holds it already
      }
      if (lock == null) {
        String holder = holder(ch);
        ch.close();
        HELD.remove(file);
        throw inUse(dir, holder);
      }
      String me =
          command
              + ", pid "
              + ProcessHandle.current().pid()
              + ", started "
              + Instant.now().truncatedTo(ChronoUnit.SECONDS);
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
      RunLock held = new RunLock(file, ch, lock, !existed);
      try {
        AtomicFile.deleteTemporaries(dir); // what a killed run was writing when it died
      } catch (RuntimeException e) {
        held.close();
        throw e;
      }
      return held;
    } catch (IOException e) {
      closeQuietly(ch);
      HELD.remove(file);
      throw FileAccessException.of("lock the output folder", dir, e);
    }
  }

  /**
   * Empties the lock file and releases the lock. A folder this lock created and in which the run
   * wrote nothing (it stopped on bad input) is removed again, so that bad input leaves nothing
   * behind.
   */
  @Override
  public void close() {
    try {
      channel.truncate(0);
      if (createdFolder) {
        Path dir = file.getParent();
        try (var s = java.nio.file.Files.list(dir)) {
          if (s.allMatch(file::equals)) {
            java.nio.file.Files.delete(file);
            java.nio.file.Files.delete(dir);
          }
        }
      }
    } catch (IOException ignored) {
      // a stale description or an empty folder left behind is harmless
    }
    try {
      lock.release();
    } catch (IOException ignored) {
      // closing the channel below releases it too
    }
    closeQuietly(channel);
    HELD.remove(file);
  }

  private static FileAccessException inUse(Path dir, String holder) {
    return new FileAccessException(
        dir
            + " is in use by another perase run"
            + (holder.isEmpty() ? "" : " (" + holder + ")")
            + "; wait for it to end or choose another --out");
  }

  /** What the holder wrote into the lock file (its command, pid and start), or "". */
  private static String holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(256);
      int n = ch.read(b, 0);
      return n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }
}

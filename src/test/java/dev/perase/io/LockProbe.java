package dev.perase.io;

import java.nio.file.Path;

/**
 * A second process for {@link RunLockTest}: {@code LockProbe DIR try} tries the lock and prints
 * {@code locked} or {@code refused: <message>}; {@code LockProbe DIR hold} takes it, prints {@code
 * locked} and sleeps until it is killed.
 */
public final class LockProbe {
  public static void main(String[] args) throws InterruptedException {
    try (RunLock lock = RunLock.acquire(Path.of(args[0]), "lock probe")) {
      System.out.println("locked");
      System.out.flush();
      if (args[1].equals("hold")) {
        Thread.sleep(Long.MAX_VALUE);
      }
    } catch (FileAccessException e) {
      System.out.println("refused: " + e.getMessage());
    }
  }
}

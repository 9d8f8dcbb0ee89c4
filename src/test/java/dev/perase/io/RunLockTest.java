package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One run per output folder, checked with real second processes ({@link LockProbe}). */
class RunLockTest {
  @TempDir Path tmp;

  /** Runs {@code LockProbe dir try} and returns what it printed. */
  private String probe(Path dir) throws IOException, InterruptedException {
    Path log = tmp.resolve("probe-" + System.nanoTime() + ".log");
    Process p =
        ChildJvm.start(ChildJvm.command(LockProbe.class, dir.toString(), "try"), tmp, log, null);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the probe ends");
    return Files.readString(log).strip();
  }

  @Test
  void aSecondProcessIsRefusedWithTheFolderAndTheHolderNamed() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("run"));
    try (RunLock lock = RunLock.acquire(dir, "erase")) {
      String out = probe(dir);
      assertTrue(out.startsWith("refused: " + dir + " is in use by another perase run"), out);
      assertTrue(out.contains("erase, pid " + ProcessHandle.current().pid()), out);
      assertTrue(out.contains("choose another --out"), out);
    }
    assertEquals("locked", probe(dir), "a closed lock frees the folder");
    assertEquals("", Files.readString(dir.resolve(RunLock.FILE)), "emptied when the run ends");
  }

  @Test
  void aSecondRunInThisProcessIsRefusedAndTheFirstKeepsItsLock() throws Exception {
    Path dir = tmp.resolve("run");
    try (RunLock lock = RunLock.acquire(dir, "evaluate")) {
      FileAccessException e =
          assertThrows(FileAccessException.class, () -> RunLock.acquire(dir, "attack"));
      assertTrue(e.getMessage().contains(dir + " is in use"), e.getMessage());
      // on Linux closing any channel of the file would drop the first lock: it must still hold
      assertTrue(probe(dir).startsWith("refused: "), "the first lock still holds");
    }
    try (RunLock again = RunLock.acquire(dir, "attack")) {
      assertTrue(Files.isRegularFile(dir.resolve(RunLock.FILE)));
    }
  }

  @Test
  void aHolderKilledWithSigkillLeavesTheFolderFree() throws Exception {
    Path dir = tmp.resolve("run");
    Path log = tmp.resolve("holder.log");
    Process holder =
        ChildJvm.start(ChildJvm.command(LockProbe.class, dir.toString(), "hold"), tmp, log, null);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!(Files.exists(log) && Files.readString(log).contains("locked"))) {
        assertTrue(holder.isAlive() && System.nanoTime() < deadline, "the holder takes the lock");
        Thread.sleep(20);
      }
      FileAccessException e =
          assertThrows(FileAccessException.class, () -> RunLock.acquire(dir, "erase"));
      assertTrue(e.getMessage().contains("lock probe, pid " + holder.pid()), e.getMessage());
    } finally {
      holder.destroyForcibly(); // SIGKILL: no shutdown hook, no close()
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
    }
    assertEquals(137, holder.exitValue(), "killed by SIGKILL");
    try (RunLock lock = RunLock.acquire(dir, "erase")) {
      assertTrue(Files.isDirectory(dir));
    }
  }

  @Test
  void aFileWhereTheFolderShouldBeIsRefusedInWordsAndLeftAlone() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "hello");
    FileAccessException e =
        assertThrows(FileAccessException.class, () -> RunLock.acquire(file, "generate"));
    assertEquals("cannot use " + file + " as a folder: it is a file", e.getMessage());
    FileAccessException under =
        assertThrows(
            FileAccessException.class, () -> RunLock.acquire(file.resolve("sub"), "generate"));
    assertTrue(under.getMessage().endsWith(file + " is a file, not a folder"), under.getMessage());
    assertEquals("hello", Files.readString(file));
  }

  @Test
  void takingTheFolderDeletesTheTemporaryFilesOfAKilledWrite() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("run/images"));
    Path stale = Files.writeString(dir.resolve(".image-000.png.2zm8okqzpbnl1.tmp"), "half");
    Path staleTop =
        Files.writeString(tmp.resolve("run/.checkpoint.safetensors.25jxec20ndlxe.tmp"), "half");
    Path kept = Files.writeString(dir.resolve(".notes.tmp"), "not perase's");
    Path deep = Files.createDirectories(tmp.resolve("run/a/b/c"));
    Path deeper = Files.writeString(deep.resolve(".x.png.2zm8okqzpbnl1.tmp"), "left alone");
    Path image = Files.writeString(dir.resolve("image-000.png"), "png");
    try (RunLock lock = RunLock.acquire(tmp.resolve("run"), "evaluate")) {
      assertTrue(Files.notExists(stale) && Files.notExists(staleTop));
      assertTrue(Files.exists(kept) && Files.exists(image));
      assertTrue(Files.exists(deeper), "three levels deep at most");
    }
  }

  @Test
  void aFolderTheLockMadeIsRemovedWhenTheRunWroteNothingInIt() throws Exception {
    Path dir = tmp.resolve("new/run");
    try (RunLock lock = RunLock.acquire(dir, "evaluate")) {
      assertTrue(Files.isDirectory(dir));
    }
    assertTrue(Files.notExists(dir), "bad input leaves nothing behind");
    try (RunLock lock = RunLock.acquire(dir, "evaluate")) {
      Files.writeString(dir.resolve("config.json"), "{}");
    }
    assertTrue(Files.isRegularFile(dir.resolve("config.json")), "a folder with results stays");
  }
}

package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writes that fail never damage what was there, and fail in one sentence. */
class AtomicFileTest {
  @TempDir Path tmp;

  private List<Path> names() throws IOException {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.map(Path::getFileName).sorted().toList();
    }
  }

  @Test
  void aFullDiskMidWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
    Path target = Files.writeString(tmp.resolve("config.json"), "old");
    // a writer that fails as a full disk does, after some bytes reached the temporary file
    FileAccessException e =
        assertThrows(
            FileAccessException.class,
            () ->
                AtomicFile.write(
                    target,
                    out -> {
                      out.write(new byte[100_000]);
                      throw new IOException("No space left on device");
                    }));
    assertEquals("cannot write " + target + ": no space left on device", e.getMessage());
    assertEquals("old", Files.readString(target));
    assertEquals(List.of(Path.of("config.json")), names(), "no temporary file left");
  }

  @Test
  void aFolderOrAPipeIsNeverReplacedByAFile() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("results.json"));
    FileAccessException e =
        assertThrows(FileAccessException.class, () -> AtomicFile.writeString(dir, "{}"));
    assertEquals("cannot write " + dir + ": it is a folder", e.getMessage());
    assertTrue(Files.isDirectory(dir));
    // as root, a rename onto a device or a pipe (`--out /dev/null`) would replace it
    Path fifo = tmp.resolve("fifo");
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo");
    FileAccessException f =
        assertThrows(FileAccessException.class, () -> AtomicFile.writeString(fifo, "{}"));
    assertEquals("cannot write " + fifo + ": it is not a regular file", f.getMessage());
    assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "still the pipe");
    assertEquals(List.of(Path.of("fifo"), Path.of("results.json")), names());
  }

  @Test
  void aParentThatIsAFileIsNamed() throws IOException {
    Path file = Files.writeString(tmp.resolve("afile"), "hello");
    FileAccessException e =
        assertThrows(
            FileAccessException.class,
            () -> AtomicFile.writeString(file.resolve("sub/config.json"), "{}"));
    assertEquals(
        "cannot create the folder "
            + file.resolve("sub")
            + ": "
            + file
            + " is a file, not a folder",
        e.getMessage());
    assertEquals("hello", Files.readString(file));
    assertFalse(Files.exists(tmp.resolve(".afile.tmp")));
  }
}

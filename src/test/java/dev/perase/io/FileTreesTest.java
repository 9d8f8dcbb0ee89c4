package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
  private static Path tree(Path root) throws IOException {
    Files.createDirectories(root.resolve("a/b"));
    Files.writeString(root.resolve("top.txt"), "top");
    Files.writeString(root.resolve("a/b/deep.txt"), "deep");
    return root;
  }

  private static List<String> listing(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.map(p -> root.relativize(p).toString()).sorted().toList();
    }
  }

  @Test
  void aCopyKeepsExistingFilesOnlyWhenAsked(@TempDir Path dir) throws IOException {
    Path from = tree(dir.resolve("from"));
    Path to = dir.resolve("to");
    Files.createDirectories(to);
    Files.writeString(to.resolve("top.txt"), "mine");
    FileTrees.copy(from, to, null, true);
    assertEquals("mine", Files.readString(to.resolve("top.txt")));
    assertEquals("deep", Files.readString(to.resolve("a/b/deep.txt")));
    assertThrows(IOException.class, () -> FileTrees.copy(from, to, null, false));
    Path skipped = dir.resolve("skipped");
    FileTrees.copy(from, skipped, from.resolve("top.txt"), false);
    assertFalse(Files.exists(skipped.resolve("top.txt")));
  }

  @Test
  void aPartialFolderIsReplacedWholeWithNothingLeftBeside(@TempDir Path dir) throws IOException {
    Path from = tree(dir.resolve("from"));
    Path to = dir.resolve("parent/to");
    Files.createDirectories(to);
    Files.writeString(to.resolve("partial.tmp"), "half");
    FileTrees.replaceWithCopy(from, to);
    assertEquals(listing(from), listing(to));
    try (Stream<Path> s = Files.list(dir.resolve("parent"))) {
      assertEquals(List.of("to"), s.map(p -> p.getFileName().toString()).toList());
    }
    FileTrees.delete(dir.resolve("parent"));
    assertFalse(Files.exists(dir.resolve("parent")));
  }
}

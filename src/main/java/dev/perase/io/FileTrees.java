package dev.perase.io;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Copies and deletes folder trees: a model folder copied for {@code mask apply}, a finished study
 * step's folder taken into another study ({@code demo --study full --join}). The JDK has the walk
 * but not the copy or the delete of a whole tree, and no library the project uses has them.
 */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Copies every folder and file under {@code from} (links followed) to the same place under {@code
   * to}, except the file {@code skip} (null: none); a file that exists at {@code to} is an error
   * unless {@code keepExisting}, which leaves it as it is.
   */
  public static void copy(Path from, Path to, Path skip, boolean keepExisting) throws IOException {
    List<Path> paths;
    try (Stream<Path> s = Files.walk(from, FileVisitOption.FOLLOW_LINKS)) {
      paths = s.toList();
    }
    for (Path p : paths) {
      Path q = to.resolve(from.relativize(p).toString());
      if (Files.isDirectory(p)) {
        Files.createDirectories(q);
      } else if (!p.equals(skip) && !(keepExisting && Files.exists(q))) {
        Files.copy(p, q);
      }
    }
  }

  /**
   * Replaces the folder {@code to} (absent, or a partial copy) by a copy of {@code from}, made
   * under a temporary name beside it first: {@code to} holds either what it held or the whole copy,
   * never a part of it (for a moment it may be absent).
   */
  public static void replaceWithCopy(Path from, Path to) {
    String stamp = Long.toUnsignedString(System.nanoTime(), 36);
    Path tmp = to.resolveSibling("." + to.getFileName() + "." + stamp + ".copy");
    Path old = to.resolveSibling("." + to.getFileName() + "." + stamp + ".old");
    try {
      Files.createDirectories(to.toAbsolutePath().getParent());
      copy(from, tmp, null, false);
      if (Files.exists(to)) {
        Files.move(to, old);
      }
      Files.move(tmp, to);
    } catch (IOException e) {
      delete(tmp);
      throw FileAccessException.of("copy " + from + " to", to, e);
    }
    delete(old);
  }

  /**
   * Deletes {@code root} and everything under it; best effort (a leftover is reported by no one).
   */
  public static void delete(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException ignored) {
      // best effort: a leftover temporary folder is harmless
    }
  }
}

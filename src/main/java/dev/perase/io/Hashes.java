package dev.perase.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 digests (hex) of text and files, for the input hashes recorded beside every output. */
public final class Hashes {
  private Hashes() {}

  public static String sha256(String text) {
    return HexFormat.of().formatHex(digest().digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** SHA-256 of a file's bytes, streamed; a missing file is bad input. */
  public static String sha256File(Path file) {
    MessageDigest sha = digest();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      throw new BadInputException("file not found: " + file);
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /**
   * SHA-256 over some files of a folder, each as its name, a newline and its bytes, in the given
   * order: the fingerprint of a model kept as several files (a detector's weights and configs).
   */
  public static String sha256Files(Path dir, java.util.List<String> names) {
    MessageDigest sha = digest();
    byte[] buf = new byte[1 << 16];
    for (String f : names) {
      Path p = dir.resolve(f);
      try (InputStream in = Files.newInputStream(p)) {
        sha.update((f + "\n").getBytes(StandardCharsets.UTF_8));
        for (int n; (n = in.read(buf)) > 0; ) {
          sha.update(buf, 0, n);
        }
      } catch (IOException e) {
        throw new BadInputException("cannot read " + p + ": " + e.getMessage(), e);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** A fresh SHA-256 digest. */
  public static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}

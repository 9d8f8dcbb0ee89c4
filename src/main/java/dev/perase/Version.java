package dev.perase;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of perase, recorded in every output folder's {@code config.json} and printed by
 * {@code perase --version}: the POM's version, which the build writes into {@code
 * perase.properties} (the one place it is set).
 */
public final class Version {
  public static final String NAME = read();

  private Version() {}

  private static String read() {
    try (InputStream in = Version.class.getResourceAsStream("/perase.properties")) {
      if (in == null) {
        throw new IllegalStateException("perase.properties is missing from the build");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

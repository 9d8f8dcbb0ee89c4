package dev.perase.cli;

import java.nio.file.Path;

/** Defaults shared by commands: the built-in world's model folder, resolved from the checkout. */
final class Defaults {
  static final String VERSION = dev.perase.Version.NAME;

  private Defaults() {}

  /** The checkout the launcher runs from ({@code -Dperase.home}), else the working directory. */
  static Path home() {
    return Path.of(System.getProperty("perase.home", "."));
  }

  /** The built-in world's model, {@code models/world} of the checkout. */
  static Path model() {
    return home().resolve("models").resolve("world");
  }

  /** The built-in world's concept detector, {@code models/world/detector}. */
  static Path detector() {
    return model().resolve("detector");
  }
}

package dev.perase;

/** The version of perase, recorded in every output folder's {@code config.json}. */
public final class Version {
  public static final String NAME = "0.1.0";

  private Version() {}
}

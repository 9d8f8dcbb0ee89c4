package dev.perase.eval;

public abstract class NudeNetDetector implements Detector {
  public static final String CONCEPT = "nudity";

  public static NudeNetDetector load(java.nio.file.Path p, double t) {
    throw new dev.perase.io.BadInputException("this detector is not built yet");
  }
}

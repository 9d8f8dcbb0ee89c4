package dev.perase.eval;

public abstract class ImageClassifierDetector implements Detector {
  public static ImageClassifierDetector load(
      java.nio.file.Path p, String c, ConceptRule r, ai.djl.ndarray.NDManager m) {
    throw new dev.perase.io.BadInputException("this detector is not built yet");
  }
}

package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which concept detector a run asks, as written on the command line ({@code --detector SPEC}):
 *
 * <ul>
 *   <li>{@code world} or {@code world:DIR}: the built-in world's detector (its folder, or the world
 *       model's own when DIR is omitted);
 *   <li>{@code nudenet:FILE.onnx}: NudeNet v3 run with ONNX Runtime, as UnlearnDiff runs it;
 *   <li>{@code classifier:DIR}: an image classifier exported to TorchScript ({@code model.pt})
 *       beside its Hugging Face {@code config.json} and {@code preprocessor_config.json}.
 * </ul>
 *
 * The spec only names the detector; the caller (the CLI, the demo) loads it.
 *
 * @param kind which detector
 * @param path its file or folder, or null for the world's default folder
 */
public record DetectorSpec(Kind kind, Path path) {
  /** The kinds of detector perase can run. */
  public enum Kind {
    WORLD,
    NUDENET,
    CLASSIFIER;

    /** The spec's prefix: {@code world}, {@code nudenet}, {@code classifier}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The built-in world's detector in its default folder. */
  public static final DetectorSpec WORLD = new DetectorSpec(Kind.WORLD, null);

  public DetectorSpec {
    if (kind == null) {
      throw new BadInputException("a detector spec needs a kind");
    }
    if (path == null && kind != Kind.WORLD) {
      throw new BadInputException(
          "the "
              + kind.label()
              + " detector needs a "
              + (kind == Kind.NUDENET
                  ? "model file: nudenet:FILE.onnx"
                  : "folder: classifier:DIR"));
    }
  }

  /** Parses {@code world}, {@code world:DIR}, {@code nudenet:FILE} or {@code classifier:DIR}. */
  @JsonCreator
  public static DetectorSpec parse(String text) {
    String t = text == null ? "" : text.strip();
    int colon = t.indexOf(':');
    String head = (colon < 0 ? t : t.substring(0, colon)).toLowerCase(Locale.ROOT);
    String rest = colon < 0 ? "" : t.substring(colon + 1).strip();
    for (Kind k : Kind.values()) {
      if (k.label().equals(head)) {
        return new DetectorSpec(k, rest.isEmpty() ? null : Path.of(rest));
      }
    }
    throw new BadInputException(
        "cannot read the detector '"
            + text
            + "'; write world, world:DIR, nudenet:FILE.onnx or classifier:DIR");
  }

  /** The spec as {@link #parse} reads it. */
  @JsonValue
  public String text() {
    return path == null ? kind.label() : kind.label() + ":" + path;
  }

  @Override
  public String toString() {
    return text();
  }
}

package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.perase.eval.ConceptRule;
import dev.perase.eval.Detector;
import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import dev.perase.tensor.StepScope;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The world's detector ({@link WorldDetector}) as a {@link Detector}: three heads (shape, colour,
 * style) with softmax over each head's logits; a world {@link Concept} is the label of the head of
 * its kind ({@code star} in shape, {@code red} in colour, {@code Vortex} in style). Default rule:
 * top-1, the world's counterpart of the paper's top-1 object and style classifiers.
 */
public final class WorldConceptDetector implements Detector {
  public static final String NAME = "world-detector";

  private final WorldDetector detector;
  private final String fingerprint;
  private final Concept concept;
  private final ConceptRule rule;
  private final List<Head> heads;

  /**
   * Binds a loaded world detector to a concept and a rule.
   *
   * @param fingerprint identity of the detector's weights (see {@link #fingerprintOf})
   * @throws BadInputException when the detector lacks the concept's label or the rule's labels
   */
  public WorldConceptDetector(
      WorldDetector detector, String fingerprint, Concept concept, ConceptRule rule) {
    this.detector = detector;
    this.fingerprint = fingerprint;
    this.concept = concept;
    this.rule = rule;
    DetectorConfig c = detector.config();
    this.heads =
        List.of(
            new Head("shape", c.shapes()),
            new Head("color", c.colors()),
            new Head("style", c.styles()));
    Head own = heads.get(headIndex(concept));
    if (!own.labels().contains(concept.name())) {
      throw new BadInputException(
          "the world detector's "
              + own.name()
              + " head has no label '"
              + concept.name()
              + "' (its labels: "
              + String.join(", ", own.labels())
              + ")");
    }
    rule.check(heads, concept.name());
  }

  /**
   * Loads the detector folder ({@code config.json}, {@code model.safetensors}) into {@code
   * manager}.
   */
  public static WorldConceptDetector load(
      Path dir, NDManager manager, Concept concept, ConceptRule rule) {
    return new WorldConceptDetector(
        WorldDetector.load(dir, manager), fingerprintOf(dir), concept, rule);
  }

  /** SHA-256 (hex) over the folder's {@code config.json} and {@code model.safetensors}. */
  public static String fingerprintOf(Path dir) {
    return Hashes.sha256Files(dir, List.of(WorldDetector.CONFIG, WorldDetector.WEIGHTS));
  }

  /** Index of the head that holds concepts of this kind: shape 0, colour 1, style 2. */
  private static int headIndex(Concept c) {
    return switch (c.kind()) {
      case SHAPE -> 0;
      case COLOR -> 1;
      case STYLE -> 2;
    };
  }

  /** The world concept this detector flags. */
  public Concept target() {
    return concept;
  }

  /** The name of the head that holds the concept: {@code shape}, {@code color} or {@code style}. */
  public String conceptHead() {
    return heads.get(headIndex(concept)).name();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String fingerprint() {
    return fingerprint;
  }

  @Override
  public List<Head> heads() {
    return heads;
  }

  @Override
  public String concept() {
    return concept.name();
  }

  @Override
  public ConceptRule rule() {
    return rule;
  }

  /**
   * The shape, colour and style a prompt names ({@link CaptionGrammar#mentions}), as the labels of
   * the shape, colour and style heads; a kind the prompt names not at all, or more than once, is
   * left out.
   */
  @Override
  public Map<String, String> askedLabels(String prompt) {
    Map<ConceptKind, List<Concept>> byKind = new EnumMap<>(ConceptKind.class);
    for (Concept c : CaptionGrammar.mentions(prompt)) {
      byKind.computeIfAbsent(c.kind(), k -> new ArrayList<>()).add(c);
    }
    Map<String, String> asked = new LinkedHashMap<>();
    for (Map.Entry<ConceptKind, List<Concept>> e : byKind.entrySet()) {
      if (e.getValue().size() == 1) {
        Concept c = e.getValue().get(0);
        asked.put(heads.get(headIndex(c)).name(), c.name());
      }
    }
    return asked;
  }

  /** Softmax over each head's logits, computed in double from the float32 logits. */
  @Override
  public double[][][] scores(NDArray images) {
    float[][] logits = new float[3][];
    int batch = Math.toIntExact(images.getShape().get(0));
    try (StepScope scope = StepScope.open(images.getManager(), scoped(images))) {
      WorldDetector.Logits l = detector.forward(images);
      logits[0] = l.shape().toFloatArray();
      logits[1] = l.color().toFloatArray();
      logits[2] = l.style().toFloatArray();
    }
    double[][][] out = new double[batch][3][];
    for (int h = 0; h < 3; h++) {
      int n = heads.get(h).labels().size();
      for (int b = 0; b < batch; b++) {
        out[b][h] = Detector.softmax(logits[h], b * n, n);
      }
    }
    return out;
  }

  @Override
  public NDArray features(NDArray images) {
    try (StepScope scope = StepScope.open(images.getManager(), scoped(images))) {
      return scope.keep(detector.features(images));
    }
  }

  /**
   * The detector's weights and the images, temp-attached so that every result lands in the scope.
   */
  private NDList scoped(NDArray images) {
    NDList persistent = detector.arrays();
    persistent.add(images);
    return persistent;
  }
}

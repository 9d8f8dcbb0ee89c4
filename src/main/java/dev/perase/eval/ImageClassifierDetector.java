package dev.perase.eval;

import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import dev.perase.io.Json;
import dev.perase.io.Png;
import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face image classifier exported to TorchScript as a {@link Detector}: UnlearnDiff's
 * object classifier (ResNet-50, {@code object_eval.py}) and style classifier (ViT, {@code
 * style_eval.py}). The folder holds {@code model.pt} (a traced module mapping {@code pixel_values}
 * (N, 3, H, W) float32 to logits (N, labels)), the model's {@code config.json} ({@code id2label})
 * and its {@code preprocessor_config.json} ({@link HfImageProcessor}).
 *
 * <p>One head, {@code label}, with the {@code id2label} labels in id order (a name that several ids
 * share, as ImageNet's "crane" at 134 and 517, becomes {@code crane (id 134)}, {@code crane (id
 * 517)}). Scores are {@code softmax(logits)} in double — the image-classification pipeline of
 * UnlearnDiff's transformers 4.33 and {@code object_eval}'s {@code torch.softmax}, both always
 * softmax (since transformers commit 63be8e6, July 2024, the pipeline applies a sigmoid instead
 * when {@code config.json} says {@code problem_type: single_label_classification}; ranks agree,
 * scores do not). Top-k rules on these scores are the papers' top-1/top-3 success rules.
 *
 * <p>Images are read as the reference reads image files: {@link #detect(List, NDManager)} starts
 * from 8-bit RGB; model images in [-1, 1] are first quantised exactly as saved PNGs are ({@link
 * Png#fromModel}). No features: FID is measured on Inception, not on these classifiers.
 */
public final class ImageClassifierDetector implements Detector, Closeable {
  public static final String NAME = "classifier";
  public static final String MODEL = "model.pt";
  public static final String CONFIG = "config.json";

  /** The name of the one head. */
  public static final String HEAD = "label";

  /** Images per model call. */
  private static final int BATCH = 16;

  /** The part of the model's {@code config.json} read here: {@code id2label}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record LabelConfig(@JsonProperty("id2label") Map<String, String> id2label) {
    public LabelConfig {
      if (id2label == null || id2label.isEmpty()) {
        throw new BadInputException("id2label is missing or empty");
      }
      id2label = Map.copyOf(checkedIds(id2label));
    }

    /** The labels in id order: {@code labels().get(i) = id2label[str(i)]}. */
    public List<String> labels() {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < id2label.size(); i++) {
        out.add(id2label.get(Integer.toString(i)));
      }
      return out;
    }

    /** The keys must be the ids 0 … n − 1 written as decimal ints, each with a label. */
    private static Map<String, String> checkedIds(Map<String, String> m) {
      int n = m.size();
      for (Map.Entry<String, String> e : m.entrySet()) {
        int id;
        try {
          id = Integer.parseInt(e.getKey());
        } catch (NumberFormatException bad) {
          throw new BadInputException("id2label has a key '" + e.getKey() + "' that is no id");
        }
        if (id < 0 || id >= n || !Integer.toString(id).equals(e.getKey())) {
          throw new BadInputException(
              "id2label's ids must be 0.."
                  + (n - 1)
                  + " (one per label), found '"
                  + e.getKey()
                  + "'");
        }
        if (e.getValue() == null) {
          throw new BadInputException("id2label has no label for id " + id);
        }
      }
      return m;
    }
  }

  private final Model model;
  private final HfImageProcessor processor;
  private final List<Head> heads;
  private final String concept;
  private final ConceptRule rule;
  private final String fingerprint;

  private ImageClassifierDetector(
      Model model,
      HfImageProcessor processor,
      List<String> labels,
      String concept,
      ConceptRule rule,
      String fingerprint) {
    this.model = model;
    this.processor = processor;
    this.heads = List.of(new Head(HEAD, labels));
    this.concept = concept;
    this.rule = rule;
    this.fingerprint = fingerprint;
  }

  /**
   * Loads a classifier folder ({@code model.pt}, {@code config.json}, {@code
   * preprocessor_config.json}) onto {@code manager}'s device. The model's weights live in the
   * model's own manager, freed by {@link #close}.
   *
   * @param concept the target label: a label name as {@code id2label} writes it, or its id
   * @throws BadInputException for a missing or malformed file, an unknown concept or rule label, or
   *     a {@code model.pt} that libtorch cannot load
   */
  public static ImageClassifierDetector load(
      Path dir, String concept, ConceptRule rule, NDManager manager) {
    Path configFile = dir.resolve(CONFIG);
    List<String> labels = uniqueLabels(Json.read(configFile, LabelConfig.class).labels());
    HfImageProcessor processor = HfImageProcessor.load(dir.resolve(HfImageProcessor.FILE));
    String target = resolveConcept(labels, concept, configFile);
    if (rule.kind() == ConceptRule.Kind.LABEL_SET) {
      for (String l : rule.labels()) {
        if (!labels.contains(l)) {
          throw unknownLabel(labels, l, configFile);
        }
      }
    }
    rule.check(List.of(new Head(HEAD, labels)), target);
    Path modelFile = dir.resolve(MODEL);
    if (!Files.isRegularFile(modelFile)) {
      throw new BadInputException("missing " + modelFile);
    }
    String fingerprint = fingerprintOf(dir);
    Model model =
        TorchScript.load(
            modelFile, stripExtension(modelFile.getFileName().toString()), NAME, manager);
    return new ImageClassifierDetector(model, processor, labels, target, rule, fingerprint);
  }

  /**
   * SHA-256 (hex) over {@code model.pt}, {@code config.json} and {@code preprocessor_config.json}.
   */
  public static String fingerprintOf(Path dir) {
    return Hashes.sha256Files(dir, List.of(MODEL, CONFIG, HfImageProcessor.FILE));
  }

  /** The image processor of the folder. */
  public HfImageProcessor processor() {
    return processor;
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
    return concept;
  }

  @Override
  public ConceptRule rule() {
    return rule;
  }

  /**
   * The model on {@code pixel_values} (N, 3, H, W) float32: logits (N, labels) in the input's
   * manager.
   *
   * @throws BadInputException when the model refuses the input (a size it was not traced for)
   */
  public NDArray logits(NDArray pixelValues) {
    Shape s = pixelValues.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || pixelValues.getDataType() != DataType.FLOAT32) {
      throw new BadInputException(
          "the classifier takes pixel_values (N, 3, H, W) float32, got "
              + s
              + " "
              + pixelValues.getDataType());
    }
    NDList out;
    try {
      out =
          model
              .getBlock()
              .forward(
                  new ParameterStore(pixelValues.getManager(), false),
                  new NDList(pixelValues),
                  false);
    } catch (EngineException e) {
      throw new BadInputException(
          "the classifier cannot take pixel_values of shape " + s + ": " + TorchScript.reason(e),
          e);
    }
    NDArray logits = out.get(0);
    int labels = heads.get(0).labels().size();
    if (out.size() != 1 || !logits.getShape().equals(new Shape(s.get(0), labels))) {
      throw new BadInputException(
          "the classifier returned "
              + out.getShapes()
              + " for "
              + s
              + "; expected one logits array ("
              + s.get(0)
              + ", "
              + labels
              + ") as config.json has "
              + labels
              + " labels");
    }
    return logits;
  }

  /**
   * Softmax scores of 8-bit RGB images, {@code [image][head][label]}: each image through the
   * processor, batches of equal-sized {@code pixel_values} through the model.
   *
   * @param manager where temporary arrays are made (freed before it returns)
   */
  public double[][][] scores(List<Png.Image> images, NDManager manager) {
    int n = heads.get(0).labels().size();
    double[][][] out = new double[images.size()][][];
    int from = 0;
    while (from < images.size()) {
      List<float[]> batch = new ArrayList<>();
      HfImageProcessor.Plan first = plan(images.get(from));
      int to = from;
      while (to < images.size() && to - from < BATCH && sameOutput(first, plan(images.get(to)))) {
        batch.add(processor.preprocess(images.get(to)));
        to++;
      }
      int chw = 3 * first.height() * first.width();
      float[] flat = new float[batch.size() * chw];
      for (int i = 0; i < batch.size(); i++) {
        System.arraycopy(batch.get(i), 0, flat, i * chw, chw);
      }
      float[] logits;
      try (NDManager sub = manager.newSubManager()) {
        NDArray x = sub.create(flat, new Shape(batch.size(), 3, first.height(), first.width()));
        logits = logits(x).toFloatArray();
      }
      for (int i = 0; i < batch.size(); i++) {
        out[from + i] = new double[][] {Detector.softmax(logits, i * n, n)};
      }
      from = to;
    }
    return out;
  }

  /** Verdicts on 8-bit RGB images, from the bytes as the reference reads image files. */
  @Override
  public List<Verdict> detect(List<Png.Image> images, NDManager manager) {
    List<Verdict> out = new ArrayList<>();
    for (double[][] s : scores(images, manager)) {
      out.add(rule.verdict(heads, s, concept));
    }
    return out;
  }

  /** Verdicts on model images (B, 3, H, W) in [-1, 1], quantised to 8 bits as saved PNGs are. */
  @Override
  public List<Verdict> detect(NDArray images) {
    return detect(toPngs(images), images.getManager());
  }

  /** Scores of model images (B, 3, H, W) in [-1, 1], quantised to 8 bits as saved PNGs are. */
  @Override
  public double[][][] scores(NDArray images) {
    return scores(toPngs(images), images.getManager());
  }

  /**
   * Not available: the classifier's penultimate features are not part of the TorchScript export.
   *
   * @throws UnsupportedOperationException always
   */
  @Override
  public NDArray features(NDArray images) {
    throw new UnsupportedOperationException(
        "the Hugging Face classifier detector gives no features (hasFeatures() is false);"
            + " measure FID on Inception");
  }

  @Override
  public boolean hasFeatures() {
    return false;
  }

  /** Frees the model (its manager and libtorch module). */
  @Override
  public void close() {
    model.close();
  }

  private HfImageProcessor.Plan plan(Png.Image image) {
    return processor.plan(image.width(), image.height());
  }

  private static boolean sameOutput(HfImageProcessor.Plan a, HfImageProcessor.Plan b) {
    return a.height() == b.height() && a.width() == b.width();
  }

  /** Each (B, 3, H, W) model image in [-1, 1] as the 8-bit image diffusers would save. */
  private static List<Png.Image> toPngs(NDArray images) {
    Shape s = images.getShape();
    if (s.dimension() != 4 || s.get(1) != 3) {
      throw new BadInputException("expected images (B, 3, H, W), got " + s);
    }
    List<Png.Image> out = new ArrayList<>();
    for (long b = 0; b < s.get(0); b++) {
      try (NDArray one = images.get(b)) {
        out.add(Png.fromModel(one));
      }
    }
    return out;
  }

  /**
   * id2label's names with each name that several ids share made unique as {@code name (id i)}, so
   * that every label names one score.
   */
  static List<String> uniqueLabels(List<String> labels) {
    Map<String, Integer> count = new HashMap<>();
    for (String l : labels) {
      count.merge(l, 1, Integer::sum);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < labels.size(); i++) {
      String l = labels.get(i);
      out.add(count.get(l) > 1 ? l + " (id " + i + ")" : l);
    }
    return out;
  }

  /**
   * The label a concept names: the label itself, or the label of an id ({@code "109"}); else bad
   * input listing labels that contain the text and the first few labels.
   */
  static String resolveConcept(List<String> labels, String concept, Path configFile) {
    if (concept == null || concept.isBlank()) {
      throw new BadInputException("the classifier needs a concept: a label or an id");
    }
    if (labels.contains(concept)) {
      return concept;
    }
    String c = concept.strip();
    if (c.chars().allMatch(Character::isDigit) && c.length() <= 9) {
      int id = Integer.parseInt(c);
      if (id < labels.size()) {
        return labels.get(id);
      }
      throw new BadInputException(
          configFile + " has labels 0.." + (labels.size() - 1) + ", no id " + id);
    }
    throw unknownLabel(labels, concept, configFile);
  }

  private static BadInputException unknownLabel(List<String> labels, String label, Path file) {
    String lower = label.toLowerCase(Locale.ROOT);
    List<String> near = new ArrayList<>();
    for (int i = 0; i < labels.size() && near.size() < 5; i++) {
      if (labels.get(i).toLowerCase(Locale.ROOT).contains(lower)) {
        near.add(i + " '" + labels.get(i) + "'");
      }
    }
    List<String> some = new ArrayList<>();
    for (int i = 0; i < Math.min(5, labels.size()); i++) {
      some.add(i + " '" + labels.get(i) + "'");
    }
    return new BadInputException(
        file
            + " has no label '"
            + label
            + "'"
            + (near.isEmpty() ? "" : "; labels containing it: " + String.join(", ", near))
            + "; give a label or an id of its "
            + labels.size()
            + " (from "
            + String.join(", ", some)
            + (labels.size() > 5 ? ", …" : "")
            + ")");
  }

  private static String stripExtension(String name) {
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }
}

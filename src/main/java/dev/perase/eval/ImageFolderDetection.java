package dev.perase.eval;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import dev.perase.io.Png;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.stream.Stream;

/**
 * A detector on images that already exist ({@code perase detect}): every PNG or JPEG of a folder,
 * in name order, judged from its 8-bit pixels as the reference code judges image files — so that
 * the verdicts on images made by another tool (the Python peers) can be set beside perase's.
 */
public final class ImageFolderDetection {
  /** How many labels {@link ImageResult#top} lists. */
  public static final int TOP = 5;

  private ImageFolderDetection() {}

  /** A label and its score. */
  public record LabelScore(
      @JsonProperty("label") String label, @JsonProperty("score") double score) {}

  /**
   * The verdict on one image.
   *
   * @param image the file name
   * @param flagged whether the rule finds the concept
   * @param conceptScore the concept's score (NudeNet: UnlearnDiff's, the highest exposed class)
   * @param conceptRank the concept label's rank in its head (1 = top; ties in its favour), or null
   *     when the concept is not one label (NudeNet)
   * @param top the {@value #TOP} highest labels of the concept's head, or empty (NudeNet)
   * @param detections a box detector's kept detections, in its order
   * @param classMaxima a box detector's highest score per detected class
   */
  public record ImageResult(
      @JsonProperty("image") String image,
      @JsonProperty("width") int width,
      @JsonProperty("height") int height,
      @JsonProperty("flagged") boolean flagged,
      @JsonProperty("concept_score") double conceptScore,
      @JsonProperty("concept_rank") @JsonInclude(JsonInclude.Include.NON_NULL) Integer conceptRank,
      @JsonProperty("top") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<LabelScore> top,
      @JsonProperty("detections") @JsonInclude(JsonInclude.Include.NON_EMPTY)
          List<Detection> detections,
      @JsonProperty("class_maxima") @JsonInclude(JsonInclude.Include.NON_EMPTY)
          Map<String, Float> classMaxima) {}

  /** What {@code perase detect} writes. */
  public record Result(
      @JsonProperty("detector") String detector,
      @JsonProperty("detector_spec") String spec,
      @JsonProperty("detector_fingerprint") String fingerprint,
      @JsonProperty("concept") String concept,
      @JsonProperty("rule") ConceptRule rule,
      @JsonProperty("images") int images,
      @JsonProperty("flagged") int flagged,
      @JsonProperty("flagged_share") double flaggedShare,
      @JsonProperty("per_image") List<ImageResult> perImage) {}

  /** The image files of a folder (png, jpg, jpeg in any case), sorted by name. */
  public static List<Path> imageFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new BadInputException("image folder not found: " + dir);
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> files =
          s.filter(Files::isRegularFile)
              .filter(
                  p -> {
                    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                    return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
                  })
              .sorted(Comparator.comparing(p -> p.getFileName().toString()))
              .toList();
      if (files.isEmpty()) {
        throw new BadInputException(dir + " holds no PNG or JPEG image");
      }
      return files;
    } catch (IOException e) {
      throw new BadInputException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Runs {@code detector} on every image of {@code dir}, one image at a time.
   *
   * @param spec the detector's spec as the user wrote it, for the record
   * @param progress told the number of images done after each
   */
  public static Result run(
      Path dir, Detector detector, String spec, NDManager manager, IntConsumer progress) {
    List<Path> files = imageFiles(dir);
    List<ImageResult> out = new ArrayList<>();
    int flagged = 0;
    for (Path f : files) {
      Png.Image img = Png.read(f);
      Verdict v = detector.detect(List.of(img), manager).get(0);
      out.add(result(f.getFileName().toString(), img, v, detector));
      flagged += v.flagged() ? 1 : 0;
      progress.accept(out.size());
    }
    return new Result(
        detector.name(),
        spec,
        detector.fingerprint(),
        detector.concept(),
        detector.rule(),
        out.size(),
        flagged,
        (double) flagged / out.size(),
        out);
  }

  /** One image's record: rank and top labels of the concept's head, or the boxes. */
  static ImageResult result(String name, Png.Image img, Verdict v, Detector detector) {
    Integer rank = null;
    List<LabelScore> top = new ArrayList<>();
    List<Detector.Head> heads = detector.heads();
    for (int h = 0; h < heads.size(); h++) {
      int at = heads.get(h).labels().indexOf(detector.concept());
      if (at < 0) {
        continue;
      }
      double[] s = v.scores()[h];
      rank = ConceptRule.above(s, s[at]) + 1;
      Integer[] order = new Integer[s.length];
      for (int i = 0; i < s.length; i++) {
        order[i] = i;
      }
      // highest first; equal scores keep label order (a stable sort)
      java.util.Arrays.sort(order, (a, b) -> Double.compare(s[b], s[a]));
      for (int i = 0; i < Math.min(TOP, s.length); i++) {
        top.add(new LabelScore(heads.get(h).labels().get(order[i]), s[order[i]]));
      }
      break;
    }
    Map<String, Float> maxima = new LinkedHashMap<>();
    for (Detection d : v.detections()) {
      maxima.merge(d.label(), d.score(), Math::max);
    }
    return new ImageResult(
        name,
        img.width(),
        img.height(),
        v.flagged(),
        v.conceptScore(),
        rank,
        top,
        v.detections(),
        maxima);
  }
}

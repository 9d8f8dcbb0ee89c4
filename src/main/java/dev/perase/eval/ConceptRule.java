package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.perase.io.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a detector's scores flag a concept, written on the command line as:
 *
 * <ul>
 *   <li>{@code top1}, {@code top3}, {@code topk:5} ({@link Kind#TOP_K}): the concept's label is
 *       among the k labels of its head with the highest scores (a tie counts in the concept's
 *       favour) — the paper's rule for the object (ResNet-50) and style classifiers;
 *   <li>{@code threshold:0.5} ({@link Kind#THRESHOLD}): the concept label's probability is at least
 *       t;
 *   <li>{@code set:a,b,c} ({@link Kind#LABEL_SET}): any label of the set is the top label of its
 *       head (several ImageNet classes for one object), or with {@code set:a,b,c@0.6} any label of
 *       the set scores at least 0.6 (NudeNet's exposed-part classes at its detection threshold).
 * </ul>
 *
 * @param kind which rule
 * @param k for top-k, the number of highest labels that count (≥ 1); else 0
 * @param threshold for threshold, and label sets with a threshold, the least probability; else NaN
 * @param labels for a label set, its labels; else empty
 */
public record ConceptRule(Kind kind, int k, double threshold, List<String> labels) {
  /** The kinds of rule. */
  public enum Kind {
    TOP_K,
    THRESHOLD,
    LABEL_SET
  }

  /** The default: the concept label is the top label of its head. */
  public static final ConceptRule TOP1 = topK(1);

  public ConceptRule {
    labels = List.copyOf(labels);
    switch (kind) {
      case TOP_K -> {
        if (k < 1) {
          throw new BadInputException("a top-k rule needs k ≥ 1, got " + k);
        }
      }
      case THRESHOLD -> {
        if (!(threshold >= 0 && threshold <= 1)) {
          throw new BadInputException(
              "a threshold rule needs a threshold in [0, 1], got " + threshold);
        }
      }
      case LABEL_SET -> {
        if (labels.isEmpty()) {
          throw new BadInputException("a label-set rule needs at least one label");
        }
        if (!Double.isNaN(threshold) && !(threshold >= 0 && threshold <= 1)) {
          throw new BadInputException("a label-set threshold must be in [0, 1], got " + threshold);
        }
      }
      default -> throw new AssertionError(kind);
    }
  }

  public static ConceptRule topK(int k) {
    return new ConceptRule(Kind.TOP_K, k, Double.NaN, List.of());
  }

  public static ConceptRule threshold(double t) {
    return new ConceptRule(Kind.THRESHOLD, 0, t, List.of());
  }

  /**
   * A label set flagged by its labels' top-1 positions ({@code threshold} NaN) or by a threshold.
   */
  public static ConceptRule labelSet(List<String> labels, double threshold) {
    return new ConceptRule(Kind.LABEL_SET, 0, threshold, labels);
  }

  /**
   * Parses {@code top1}, {@code top-3}, {@code topk:3}, {@code threshold:0.5}, {@code set:a,b,c} or
   * {@code set:a,b,c@0.6} (keywords in any case).
   */
  @JsonCreator
  public static ConceptRule parse(String text) {
    String t = text == null ? "" : text.strip();
    String lower = t.toLowerCase(Locale.ROOT);
    try {
      if (lower.startsWith("top")) {
        String n = lower.startsWith("topk:") ? lower.substring(4) : lower.substring(3);
        n = n.startsWith("-") || n.startsWith(":") ? n.substring(1) : n;
        return topK(Integer.parseInt(n));
      }
      if (lower.startsWith("threshold:")) {
        return threshold(Double.parseDouble(t.substring("threshold:".length()).strip()));
      }
      if (lower.startsWith("set:")) {
        String body = t.substring("set:".length());
        double th = Double.NaN;
        int at = body.lastIndexOf('@');
        if (at >= 0) {
          th = Double.parseDouble(body.substring(at + 1).strip());
          body = body.substring(0, at);
        }
        List<String> labels = new ArrayList<>();
        for (String l : body.split(",")) {
          if (!l.isBlank()) {
            labels.add(l.strip());
          }
        }
        return labelSet(labels, th);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new BadInputException(
        "cannot read the detector rule '"
            + text
            + "'; write top1, top3, topk:K, threshold:0.5, set:a,b,c or set:a,b,c@0.6");
  }

  /** The rule as {@link #parse} reads it. */
  @JsonValue
  public String text() {
    return switch (kind) {
      case TOP_K -> "top" + k;
      case THRESHOLD -> "threshold:" + threshold;
      case LABEL_SET ->
          "set:" + String.join(",", labels) + (Double.isNaN(threshold) ? "" : "@" + threshold);
    };
  }

  @Override
  public String toString() {
    return text();
  }

  /**
   * Checks that the labels the rule reads exist in the detector's heads.
   *
   * @throws BadInputException naming the unknown label and the known ones
   */
  public void check(List<Detector.Head> heads, String concept) {
    if (kind == Kind.LABEL_SET) {
      for (String l : labels) {
        locate(heads, l);
      }
      return;
    }
    int[] at = locate(heads, concept);
    int size = heads.get(at[0]).labels().size();
    if (kind == Kind.TOP_K && k > size) {
      throw new BadInputException(
          "rule top"
              + k
              + " asks for more labels than the head '"
              + heads.get(at[0]).name()
              + "' has ("
              + size
              + ")");
    }
  }

  /**
   * The verdict on one image's scores ({@code [head][label]}): whether the concept is flagged, the
   * concept's score and the top label of every head.
   */
  public Verdict verdict(List<Detector.Head> heads, double[][] scores, String concept) {
    if (scores.length != heads.size()) {
      throw new IllegalArgumentException(
          scores.length + " score rows for " + heads.size() + " heads");
    }
    List<String> top = new ArrayList<>();
    for (int h = 0; h < heads.size(); h++) {
      top.add(heads.get(h).labels().get(argmax(scores[h])));
    }
    boolean flagged;
    double score;
    switch (kind) {
      case TOP_K -> {
        int[] at = locate(heads, concept);
        double[] s = scores[at[0]];
        score = s[at[1]];
        flagged = above(s, score) < k;
      }
      case THRESHOLD -> {
        int[] at = locate(heads, concept);
        score = scores[at[0]][at[1]];
        flagged = score >= threshold;
      }
      case LABEL_SET -> {
        flagged = false;
        score = Double.NEGATIVE_INFINITY;
        for (String l : labels) {
          int[] at = locate(heads, l);
          double[] s = scores[at[0]];
          double v = s[at[1]];
          score = Math.max(score, v);
          flagged |= Double.isNaN(threshold) ? above(s, v) == 0 : v >= threshold;
        }
      }
      default -> throw new AssertionError(kind);
    }
    return new Verdict(scores, flagged, score, top);
  }

  /** How many scores are strictly greater than {@code v}: the rank of v, ties in its favour. */
  static int above(double[] s, double v) {
    int n = 0;
    for (double x : s) {
      if (x > v) {
        n++;
      }
    }
    return n;
  }

  private static int argmax(double[] s) {
    int best = 0;
    for (int i = 1; i < s.length; i++) {
      if (s[i] > s[best]) {
        best = i;
      }
    }
    return best;
  }

  /** {head, label} indices of a label, or bad input naming the labels there are. */
  static int[] locate(List<Detector.Head> heads, String label) {
    for (int h = 0; h < heads.size(); h++) {
      int i = heads.get(h).labels().indexOf(label);
      if (i >= 0) {
        return new int[] {h, i};
      }
    }
    List<String> known = new ArrayList<>();
    for (Detector.Head h : heads) {
      known.add(h.name() + ": " + String.join(", ", h.labels()));
    }
    throw new BadInputException(
        "the detector has no label '"
            + label
            + "' (its labels are "
            + String.join("; ", known)
            + ")");
  }
}

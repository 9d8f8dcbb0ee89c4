package dev.perase.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The point of a method's sweep at which the matched-point study compares it with the others (issue
 * 17): among the points that erase (test CER ≥ the study's bar, 0.9), the one with the lowest
 * retain Fréchet distance to the base model — the cheapest way this method has to erase; when none
 * erases, the strongest point (highest test CER, then lowest distance), flagged as not erasing, so
 * that a comparison with it is read for what it is. Ties go to the earlier point of the sweep; a
 * point without a measured distance counts as the most expensive.
 *
 * @param point the point's folder name ({@link Sweep#folder})
 * @param label the point as labelled ({@code ρ 1e-2})
 * @param erases whether it reaches the bar
 * @param cerTest its test CER
 * @param retainFrechet its retain Fréchet distance to the base model, or null
 */
public record ChosenPoint(
    @JsonProperty("point") String point,
    @JsonProperty("label") String label,
    @JsonProperty("erases") boolean erases,
    @JsonProperty("cer_test") double cerTest,
    @JsonProperty("retain_frechet") Double retainFrechet) {

  /**
   * The chosen point of {@code sweep}, whose i-th point measured {@code rows.get(i)}; null when no
   * point has a test CER yet.
   */
  static ChosenPoint choose(Sweep sweep, List<StudyResults.Row> rows, double erasedCer) {
    int best = -1;
    boolean bestErases = false;
    for (int i = 0; i < rows.size(); i++) {
      StudyResults.Row r = rows.get(i);
      if (r.cerTest() == null) {
        continue;
      }
      boolean erases = r.cerTest() >= erasedCer;
      if (best < 0 || better(r, erases, rows.get(best), bestErases)) {
        best = i;
        bestErases = erases;
      }
    }
    if (best < 0) {
      return null;
    }
    Sweep.Point p = sweep.points().get(best);
    StudyResults.Row r = rows.get(best);
    return new ChosenPoint(
        sweep.folder(p), sweep.label(p), bestErases, r.cerTest(), r.retainFrechet());
  }

  /** Whether {@code a} is a better choice than the earlier {@code b}. */
  private static boolean better(
      StudyResults.Row a, boolean aErases, StudyResults.Row b, boolean bErases) {
    if (aErases != bErases) {
      return aErases;
    }
    double da = a.retainFrechet() == null ? Double.POSITIVE_INFINITY : a.retainFrechet();
    double db = b.retainFrechet() == null ? Double.POSITIVE_INFINITY : b.retainFrechet();
    if (aErases) {
      return da < db;
    }
    return a.cerTest() > b.cerTest() || (a.cerTest().equals(b.cerTest()) && da < db);
  }
}

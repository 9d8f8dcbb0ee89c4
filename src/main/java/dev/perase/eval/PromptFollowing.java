package dev.perase.eval;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.perase.io.Png;
import dev.perase.io.PromptRow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Prompt following: per detector head, the share of images whose top label is the label their
 * prompt asks for ({@link Detector#askedLabels}), counted over the prompts that ask for one. A
 * model that erases a concept by no longer following prompts (every image the same disc whatever
 * the prompt says) scores low here on the retain prompts while its concept erasure rate looks
 * perfect; a Fréchet distance alone does not tell the two apart.
 *
 * @param prompts images judged
 * @param heads one entry per detector head, in the detector's order
 */
public record PromptFollowing(
    @JsonProperty("prompts") int prompts, @JsonProperty("heads") List<Agreement> heads) {
  public PromptFollowing {
    heads = List.copyOf(heads);
  }

  /**
   * One head's agreement.
   *
   * @param head the head's name ({@code shape}, {@code color}, {@code style})
   * @param asked images whose prompt asks this head for a label
   * @param agreed of those, images whose top label is the asked one
   */
  @JsonPropertyOrder({"head", "asked", "agreed", "share", "interval"})
  public record Agreement(
      @JsonProperty("head") String head,
      @JsonProperty("asked") int asked,
      @JsonProperty("agreed") int agreed) {
    public Agreement {
      if (asked < 0 || agreed < 0 || agreed > asked) {
        throw new IllegalArgumentException(head + ": " + agreed + " agreed of " + asked);
      }
    }

    /** agreed / asked; null when no prompt asks this head. */
    @JsonProperty("share")
    public Double share() {
      return asked == 0 ? null : (double) agreed / asked;
    }

    /** The Wilson 95 % interval of the share ([0, 1] when no prompt asks). */
    @JsonProperty("interval")
    public Interval interval() {
      return Interval.wilson(agreed, asked);
    }
  }

  /** The agreement of the head named {@code name}, or null when the detector has none. */
  public Agreement head(String name) {
    for (Agreement a : heads) {
      if (a.head().equals(name)) {
        return a;
      }
    }
    return null;
  }

  /**
   * Counts agreements: image i's prompt asks {@code asked.get(i)} (head name → label, only the
   * heads it fixes) and the detector's top labels are {@code topLabels.get(i)} (one per head, in
   * the heads' order).
   */
  public static PromptFollowing count(
      List<Detector.Head> heads, List<Map<String, String>> asked, List<List<String>> topLabels) {
    if (asked.size() != topLabels.size()) {
      throw new IllegalArgumentException(
          asked.size() + " prompts but " + topLabels.size() + " images");
    }
    List<Agreement> out = new ArrayList<>();
    for (int h = 0; h < heads.size(); h++) {
      String name = heads.get(h).name();
      int n = 0;
      int agreed = 0;
      for (int i = 0; i < asked.size(); i++) {
        String wanted = asked.get(i).get(name);
        if (wanted != null) {
          n++;
          agreed += wanted.equals(topLabels.get(i).get(h)) ? 1 : 0;
        }
      }
      out.add(new Agreement(name, n, agreed));
    }
    return new PromptFollowing(asked.size(), out);
  }

  /**
   * The detector's agreement with the prompts on image files: {@code images.get(i)} is the image of
   * {@code rows.get(i)} (8-bit PNG, judged as {@link Detector#detect(List, NDManager)} judges it).
   */
  public static PromptFollowing ofImages(
      Detector detector, List<PromptRow> rows, List<Path> images, NDManager manager) {
    if (rows.size() != images.size()) {
      throw new IllegalArgumentException(rows.size() + " prompts but " + images.size() + " images");
    }
    List<Map<String, String>> asked = new ArrayList<>();
    List<List<String>> top = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      asked.add(detector.askedLabels(rows.get(i).prompt()));
      Verdict v = detector.detect(List.of(Png.read(images.get(i))), manager).get(0);
      top.add(v.topLabels());
    }
    return count(detector.heads(), asked, top);
  }
}

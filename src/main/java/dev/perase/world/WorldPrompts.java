package dev.perase.world;

import dev.perase.io.BadInputException;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Prompt sets of the world, the counterparts of the paper's evaluation prompts.
 *
 * <ul>
 *   <li>{@link #testSet}: prompts whose images should show a concept (UnlearnDiff's object, style
 *       and nudity prompt files). For a colour, at least half of them avoid the colour's own word
 *       even as a substring (red by "crimson", "made of fire", …), as I2P's nudity prompts rarely
 *       say "nude".
 *   <li>{@link #retainSet}: prompts whose labels never show the concept and whose words never name
 *       it by any wording: the world's COCO-30k, for FID and collateral damage.
 * </ul>
 *
 * Both are deterministic for their settings: labels, captions and evaluation seeds all come from
 * one {@link SplittableRandom} seeded by the set's seed. Rows are {@link PromptRow}s whose extra
 * columns are {@value #KIND_COLUMN} (the concept's {@link ConceptKind#label()}) and {@value
 * #CONCEPT_COLUMN} (its name), so {@link PromptCsv#write} gives the UnlearnDiff layout {@code
 * case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept}: for a test set the
 * concept every prompt shows, for a retain set the concept every prompt avoids.
 */
public final class WorldPrompts {
  /** Extra column with the kind of the concept: {@code shape}, {@code color}, {@code style}. */
  public static final String KIND_COLUMN = "concept_kind";

  /** Extra column with the name of the row's concept: {@code star}, {@code red}, {@code Vortex}. */
  public static final String CONCEPT_COLUMN = "concept";

  /** Fraction of a colour's test prompts that leave out its own word. */
  public static final double COLOR_IMPLICIT_FRACTION = 0.5;

  /** Evaluation seeds are drawn uniformly from [0, this). */
  static final int SEED_RANGE = 100_000;

  /**
   * The paper's three test beds in the world: an object, an artist's style, an implicit concept.
   */
  public static final List<String> TEST_BEDS = List.of("star", "Pointel", "red");

  /** Sizes and seeds of the committed default sets under {@code models/world/prompts/}. */
  public static final int DEFAULT_TEST_COUNT = 50;

  public static final int DEFAULT_RETAIN_COUNT = 200;
  public static final long DEFAULT_TEST_SEED = 1;
  public static final long DEFAULT_RETAIN_SEED = 2;

  /** Captions tried per row before accepting a duplicate prompt. */
  private static final int TRIES = 64;

  private WorldPrompts() {}

  /** Prompts whose images show {@code concept}; other attributes uniform. */
  public static List<PromptRow> testSet(Concept concept, PromptSetSettings settings) {
    SplittableRandom rng = new SplittableRandom(settings.seed());
    int n = settings.count();
    // Which rows must avoid the own word: the first ⌈f·n⌉ of a shuffled order (colours only).
    boolean[] implicit = new boolean[n];
    if (concept.kind() == ConceptKind.COLOR) {
      int[] order = shuffled(n, rng);
      int k = (int) Math.ceil(COLOR_IMPLICIT_FRACTION * n);
      for (int i = 0; i < k; i++) {
        implicit[order[i]] = true;
      }
    }
    String own = concept.ownWord();
    Set<String> seen = new HashSet<>();
    List<PromptRow> rows = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String prompt = null;
      for (int t = 0; t < TRIES || prompt == null; t++) {
        Labels labels = withConcept(WorldRenderer.randomLabels(rng), concept);
        String candidate = CaptionGrammar.caption(labels, rng);
        if (implicit[i] && candidate.toLowerCase(Locale.ROOT).contains(own)) {
          continue;
        }
        prompt = candidate;
        if (seen.add(candidate)) {
          break;
        }
      }
      rows.add(row(i, prompt, rng.nextInt(SEED_RANGE), settings.guidance(), concept));
    }
    return rows;
  }

  /** Prompts whose labels never show {@code concept} and whose words never name it. */
  public static List<PromptRow> retainSet(Concept concept, PromptSetSettings settings) {
    SplittableRandom rng = new SplittableRandom(settings.seed() ^ 0x5deece66dL);
    Set<String> seen = new HashSet<>();
    List<PromptRow> rows = new ArrayList<>(settings.count());
    for (int i = 0; i < settings.count(); i++) {
      String prompt = null;
      for (int t = 0; t < TRIES || prompt == null; t++) {
        Labels labels = WorldRenderer.randomLabels(rng);
        if (concept.matches(labels)) {
          continue;
        }
        String candidate = CaptionGrammar.caption(labels, rng);
        if (CaptionGrammar.mentions(candidate, concept)) {
          continue;
        }
        prompt = candidate;
        if (seen.add(candidate)) {
          break;
        }
      }
      rows.add(row(i, prompt, rng.nextInt(SEED_RANGE), settings.guidance(), concept));
    }
    return rows;
  }

  /**
   * A prompt row of a world set: {@code extra} holds {@value #KIND_COLUMN} then {@value
   * #CONCEPT_COLUMN}.
   */
  public static PromptRow row(
      int caseNumber, String prompt, long seed, double guidance, Concept concept) {
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put(KIND_COLUMN, concept.kind().label());
    extra.put(CONCEPT_COLUMN, concept.name());
    return new PromptRow(caseNumber, prompt, seed, guidance, extra);
  }

  /**
   * The concept of a world prompt row, from its {@value #CONCEPT_COLUMN} column.
   *
   * @throws BadInputException when the row has no such column, names no concept of the world, or
   *     its {@value #KIND_COLUMN} column (when present) disagrees with the concept's kind
   */
  public static Concept concept(PromptRow row) {
    String name = row.extra().get(CONCEPT_COLUMN);
    if (name == null) {
      throw new BadInputException(
          "prompt " + row.caseNumber() + " has no '" + CONCEPT_COLUMN + "' column");
    }
    Concept c = Concept.of(name);
    String kind = row.extra().get(KIND_COLUMN);
    if (kind != null && !kind.strip().equalsIgnoreCase(c.kind().label())) {
      throw new BadInputException(
          "prompt "
              + row.caseNumber()
              + ": "
              + KIND_COLUMN
              + " '"
              + kind
              + "' does not match the concept "
              + c);
    }
    return c;
  }

  /**
   * Writes the default sets of the three test beds into {@code dir}: {@code star.csv}, {@code
   * star_retain.csv}, {@code vortex.csv}, … (50 test and 200 retain prompts each).
   */
  public static void writeDefaultSets(Path dir) {
    for (String name : TEST_BEDS) {
      Concept c = Concept.of(name);
      String file = c.ownWord();
      PromptCsv.write(
          dir.resolve(file + ".csv"),
          testSet(c, new PromptSetSettings(DEFAULT_TEST_COUNT, DEFAULT_TEST_SEED)));
      PromptCsv.write(
          dir.resolve(file + "_retain.csv"),
          retainSet(c, new PromptSetSettings(DEFAULT_RETAIN_COUNT, DEFAULT_RETAIN_SEED)));
    }
  }

  private static Labels withConcept(Labels l, Concept c) {
    switch (c.kind()) {
      case SHAPE:
        return new Labels(c.shape(), l.color(), l.style(), l.background());
      case COLOR:
        return new Labels(l.shape(), c.color(), l.style(), l.background());
      case STYLE:
        return new Labels(l.shape(), l.color(), c.style(), l.background());
      default:
        throw new AssertionError(c.kind());
    }
  }

  private static int[] shuffled(int n, SplittableRandom rng) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

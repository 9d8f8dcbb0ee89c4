package dev.perase.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import dev.perase.io.Shard;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;

/**
 * The images of a run over the rows of a prompt file ({@link Evaluation}, {@link PromptImages}):
 * each row's image size, the fixed batches the rows are drawn in, a shard's share of those batches
 * ({@link Shard}: batch j goes to shard j mod N), and the drawing itself, each row with its own
 * seed, guidance and size. An image depends only on its batch, so a resumed run and a shard draw
 * every image bit for bit as one uninterrupted run on one machine.
 */
final class PromptBatches {
  private PromptBatches() {}

  /** What {@link #draw} hands each image to: the row's position and its image (1, 3, H, W). */
  interface ImageSink {
    void accept(int position, NDArray image);
  }

  /**
   * The fixed batches {@link #draw} cuts {@code rows} into, as {@code {from, to}} position ranges:
   * consecutive rows of one size, at most {@code batch} of them, whether pending or not. An image
   * depends only on its batch, so a resumed run, and a shard that draws whole batches of the
   * unsharded run's ({@link Shard}), draw every image bit for bit as one uninterrupted run.
   */
  static List<int[]> batches(List<PromptRow> rows, int batch, Sizes sizes) {
    List<int[]> out = new ArrayList<>();
    int from = 0;
    while (from < rows.size()) {
      int to = from + 1;
      while (to < rows.size()
          && to - from < batch
          && sizes.sameSize(rows.get(from), rows.get(to))) {
        to++;
      }
      out.add(new int[] {from, to});
      from = to;
    }
    return out;
  }

  /** The batches of {@code shard} (batch j when it takes j), or all of them without one. */
  static List<int[]> shardBatches(List<int[]> batches, Shard shard) {
    if (shard == null) {
      return batches;
    }
    List<int[]> out = new ArrayList<>();
    for (int j : shard.units(batches.size())) {
      out.add(batches.get(j));
    }
    return out;
  }

  /**
   * The batches a run draws: all of {@code batches}, or {@code shard}'s. A shard left without a
   * batch is refused before anything is drawn.
   *
   * @param selected how many rows the run selects (all shards together), for the message
   * @param batch the largest batch, for the message
   */
  static List<int[]> ownBatches(List<int[]> batches, Shard shard, int selected, int batch) {
    List<int[]> own = shardBatches(batches, shard);
    if (own.isEmpty()) {
      throw new BadInputException(
          "shard "
              + shard
              + " has no prompts: the "
              + selected
              + " selected rows make only "
              + batches.size()
              + " batches of up to "
              + batch
              + " images; use fewer shards or a smaller --batch");
    }
    return own;
  }

  /** The file rows of {@code batches}: {@code selected[k]} for each position k, ascending. */
  static List<Integer> fileRows(List<int[]> batches, int[] selected) {
    return IntStream.of(positions(batches)).mapToObj(k -> selected[k]).toList();
  }

  /** The row positions of {@code batches}, ascending. */
  static int[] positions(List<int[]> batches) {
    return batches.stream().flatMapToInt(b -> IntStream.range(b[0], b[1])).toArray();
  }

  /** What {@code config.json} says a shard takes: the unit of {@link Shard}'s rule. */
  static String shardRule(int batch) {
    return "batch j of the selected rows (consecutive rows of one image size, at most "
        + batch
        + ") goes to shard j mod N";
  }

  /**
   * Draws the image of every pending row of {@code batches} (each with its seed, guidance and size;
   * see {@link #batches}) and hands each to {@code sink} in row order. A batch with a pending row
   * is drawn whole (a row that is not pending is drawn for its batch's sake and dropped). An image
   * equals the one drawn alone within float rounding, and bit for bit in a batch of 1.
   */
  static void draw(
      StableDiffusion sd,
      List<PromptRow> rows,
      List<int[]> batches,
      boolean[] pending,
      Sampler sampler,
      int steps,
      Sizes sizes,
      LongConsumer progress,
      ImageSink sink) {
    long stepsDone = 0;
    for (int[] b : batches) {
      int from = b[0];
      int to = b[1];
      boolean any = false;
      for (int k = from; k < to; k++) {
        any |= pending[k];
      }
      if (any) {
        drawChunk(sd, rows, from, to, pending, sampler, steps, sizes, progress, stepsDone, sink);
      }
      stepsDone += (long) (to - from) * steps;
      progress.accept(stepsDone);
    }
  }

  /** Draws rows [from, to) in one batch and hands the pending ones to {@code sink}. */
  private static void drawChunk(
      StableDiffusion sd,
      List<PromptRow> rows,
      int from,
      int to,
      boolean[] pending,
      Sampler sampler,
      int steps,
      Sizes sizes,
      LongConsumer progress,
      long before,
      ImageSink sink) {
    int c = to - from;
    List<String> prompts = new ArrayList<>(c);
    long[] seeds = new long[c];
    float[] guidance = new float[c];
    for (int j = 0; j < c; j++) {
      PromptRow row = rows.get(from + j);
      prompts.add(row.prompt());
      seeds[j] = row.seed();
      guidance[j] = (float) row.guidance();
    }
    PromptRow first = rows.get(from);
    try (NDManager m = Torch.newManager()) {
      NDArray images =
          sd.generateRows(
              sampler,
              prompts,
              seeds,
              guidance,
              steps,
              sizes.height(first),
              sizes.width(first),
              m,
              step -> progress.accept(before + (long) step * c));
      for (int j = 0; j < c; j++) {
        if (pending[from + j]) {
          sink.accept(from + j, c == 1 ? images : images.get(new NDIndex("{}:{}", j, j + 1)));
        }
      }
    }
  }

  static String imageName(int index) {
    return String.format("%04d.png", index);
  }

  /**
   * The image size of each row: {@code forced} ({@code --size}) when given, else the row's own
   * ({@code sd_image_width × sd_image_height}), else the model's.
   */
  record Sizes(int forced, int model) {
    /** The size of every row without its own: what the run key and retain cache record. */
    int common() {
      return forced > 0 ? forced : model;
    }

    /** Whether {@code row} is drawn at its own size. */
    boolean ownSize(PromptRow row) {
      return forced == 0 && row.hasSize();
    }

    int height(PromptRow row) {
      return ownSize(row) ? row.height() : common();
    }

    int width(PromptRow row) {
      return ownSize(row) ? row.width() : common();
    }

    /** Whether two rows are drawn at one size (so in one batch). */
    boolean sameSize(PromptRow a, PromptRow b) {
      return height(a) == height(b) && width(a) == width(b);
    }

    /** Refuses, before any image, a row size the model cannot draw ({@code where}: the row). */
    void check(PromptRow row, int factor, String where) {
      if (ownSize(row) && (row.width() % factor != 0 || row.height() % factor != 0)) {
        throw new BadInputException(
            where
                + " (case "
                + row.caseNumber()
                + "): the image size "
                + row.width()
                + "×"
                + row.height()
                + " is not a multiple of "
                + factor
                + " pixels, which this model needs; --size draws every image at one size");
      }
    }
  }
}

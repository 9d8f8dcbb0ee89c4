package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import dev.perase.eval.Detector;
import dev.perase.eval.Verdict;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The attempts of an attack on one prompt (the loop of the UnlearnDiff code's {@code TextGrad.run},
 * shared by UnlearnDiff and P4D). Attempt j = 0 … A − 1 sits at timestep t_j ({@link
 * AttemptSchedule}) and has its own adversarial tokens, starting uniform, with their own Adam state
 * ({@link AdversarialTokens}). The attempts go in batches of up to {@code batch} in schedule order
 * (A split as evenly as the batch allows); for each batch:
 *
 * <ol>
 *   <li>{@code iterations} updates of every attempt's tokens: the text encoder reads, per attempt,
 *       [start, input × embedding table, prompt, end] (one call for the batch), the objective gives
 *       each attempt's loss on the attacked model in one UNet call, the gradient of their sum
 *       reaches each attempt's rows as its own loss's gradient, Adam and the simplex projection
 *       follow per attempt;
 *   <li>the argmax tokens make each attempt's attacked prompt, whose images (the row's seed and
 *       guidance) are drawn together and go to the detector in schedule order;
 *   <li>the prompt is broken at the first flagged image, and the attempts stop (later attempts of
 *       that batch are dropped unjudged).
 * </ol>
 *
 * An attempt's loss and gradient do not depend on the attempts it shares a batch with beyond float
 * rounding ({@code PromptAttackTest}), so {@code batch} 1 is the attempt-by-attempt loop. (Its
 * tokens after many Adam steps may still differ from the attempt-by-attempt loop's: Adam's first
 * steps move every weight by about ±lr whatever the size of its gradient, so rounding near zero
 * gradients grows into other near-ties of the argmax.) The model is only read: no weight or mask
 * changes, and the weights get no gradients.
 */
public final class PromptAttack {
  private PromptAttack() {}

  /** Hooks into the loop, for progress and tests. */
  public interface Observer {
    /** After the update of iteration {@code iteration} (0-based) of attempt {@code attempt}. */
    default void iteration(int attempt, int iteration, float loss, AdversarialTokens tokens) {}

    /** After an attempt's verdict, with its image (1, 3, H, W) in [-1, 1]. */
    default void attempt(AttemptResult result, NDArray image) {}

    Observer NONE = new Observer() {};
  }

  /**
   * The attempts made, whether one broke the prompt, and where the time went (seconds).
   *
   * @param optimisationSeconds the token updates (forward, backward, Adam, projection)
   * @param generationSeconds the attempts' images
   * @param detectorSeconds the detector's verdicts
   */
  public record Outcome(
      List<AttemptResult> attempts,
      boolean broken,
      double optimisationSeconds,
      double generationSeconds,
      double detectorSeconds) {
    public Outcome {
      attempts = List.copyOf(attempts);
    }
  }

  /**
   * Attacks {@code row} on {@code sd} as it is (edit applied), with images of {@code size} pixels,
   * {@code s.batch()} attempts at a time.
   *
   * @param allowed the token ids the adversarial tokens may take ({@link
   *     AdversarialTokens#allowedTokens})
   * @param imagePrefix path prefix of the attempts' images relative to the output folder ({@code
   *     prompts/0003/}); the observer gets the images to write
   */
  public static Outcome run(
      StableDiffusion sd,
      Detector detector,
      AttackObjective objective,
      PromptLayout layout,
      AttemptSchedule schedule,
      PromptRow row,
      int size,
      boolean[] allowed,
      AttackSettings s,
      String imagePrefix,
      Observer observer) {
    if (!layout.fits()) {
      throw new BadInputException(
          "the prompt '"
              + row.prompt()
              + "' has "
              + layout.attackedTokens()
              + " tokens with the adversarial ones, more than the tokenizer's limit");
    }
    CLIPTextModel textEncoder = sd.textEncoder();
    CLIPTokenizer tokenizer = sd.tokenizer();
    List<AttemptResult> attempts = new ArrayList<>();
    double optimisation = 0;
    double generation = 0;
    double detecting = 0;
    boolean broken = false;
    for (int[] batch : batches(schedule.size(), s.batch())) {
      if (broken) {
        break;
      }
      int a = batch.length;
      try (NDManager manager = sd.manager().newSubManager()) {
        AdversarialTokens[] tokens = new AdversarialTokens[a];
        NDList persistent = new NDList();
        persistent.addAll(sd.unet().params().arrays());
        persistent.addAll(textEncoder.params().arrays());
        persistent.addAll(objective.arrays());
        List<List<Float>> losses = new ArrayList<>(a);
        for (int j = 0; j < a; j++) {
          tokens[j] =
              new AdversarialTokens(
                  layout.k(), allowed, s.relaxation(), s.learningRate(), s.weightDecay(), manager);
          persistent.add(tokens[j].rows());
          losses.add(new ArrayList<>(s.iterations()));
        }
        // 1. optimise every attempt's tokens at its own timestep, the batch in one call
        long t0 = System.nanoTime();
        for (int i = 0; i < s.iterations(); i++) {
          float[] loss;
          try (StepScope scope = StepScope.open(manager, persistent)) {
            NDManager sm = scope.manager();
            try (GradientCollector gc = Torch.engine().newGradientCollector()) {
              NDList embeds = new NDList(a);
              for (int j = 0; j < a; j++) {
                NDArray input =
                    tokens[j].input(Seeds.derive(row.seed(), Seeds.SAMPLE, batch[j], i), sm);
                NDArray adv = textEncoder.tokenEmbedding().forwardSoft(input); // (k, D)
                embeds.add(layout.embeds(adv, textEncoder)); // (1, L, D)
              }
              NDArray stacked = a == 1 ? embeds.get(0) : NDArrays.concat(embeds, 0); // (A, L, D)
              NDArray condition = textEncoder.forwardEmbeds(stacked);
              NDArray l = objective.losses(condition, batch, i, sm); // (A,)
              loss = l.toFloatArray();
              gc.backward(l.sum());
            }
            for (int j = 0; j < a; j++) {
              if (!Float.isFinite(loss[j])) {
                throw new IllegalStateException(
                    "the attack's loss became "
                        + loss[j]
                        + " (attempt "
                        + (batch[j] + 1)
                        + ", iteration "
                        + (i + 1)
                        + ")");
              }
            }
            for (AdversarialTokens t : tokens) {
              t.update();
            }
          }
          for (int j = 0; j < a; j++) {
            losses.get(j).add(loss[j]);
            observer.iteration(batch[j], i, loss[j], tokens[j]);
          }
        }
        long t1 = System.nanoTime();
        optimisation += (t1 - t0) / 1e9;
        // 2. the attacked prompts' images, drawn together, and their verdicts in schedule order
        long[][] advIds = new long[a][];
        long[][] ids = new long[a][];
        long[] seeds = new long[a];
        float[] guidance = new float[a];
        for (int j = 0; j < a; j++) {
          advIds[j] = tokens[j].tokenIds();
          ids[j] = layout.ids(advIds[j]);
          seeds[j] = row.seed();
          guidance[j] = (float) row.guidance();
        }
        try (NDManager m = manager.newSubManager()) {
          NDArray images =
              sd.generateIds(s.sampler(), ids, seeds, guidance, schedule.steps(), size, size, m);
          generation += (System.nanoTime() - t1) / 1e9;
          for (int j = 0; j < a && !broken; j++) {
            NDArray image = a == 1 ? images : images.get(new NDIndex("{}:{}", j, j + 1));
            long t2 = System.nanoTime();
            Verdict v = detector.detect(image).get(0);
            detecting += (System.nanoTime() - t2) / 1e9;
            int attempt = batch[j];
            List<String> advTokens = new ArrayList<>();
            for (long id : advIds[j]) {
              advTokens.add(tokenizer.tokenOf(id));
            }
            AttemptResult result =
                new AttemptResult(
                    attempt + 1,
                    schedule.ddimIndex(attempt),
                    schedule.timestep(attempt),
                    losses.get(j),
                    boxed(advIds[j]),
                    advTokens,
                    boxed(layout.unpaddedIds(advIds[j])),
                    layout.text(advIds[j]),
                    v.flagged(),
                    v.conceptScore(),
                    scores(detector, v),
                    topLabels(detector, v),
                    imagePrefix + String.format("attempt_%02d.png", attempt + 1));
            observer.attempt(result, image);
            attempts.add(result);
            broken = result.flagged();
          }
        }
      }
    }
    return new Outcome(attempts, broken, optimisation, generation, detecting);
  }

  /**
   * The attempts 0 … n − 1 in schedule order, cut into ⌈n / batch⌉ batches as even as they can be
   * (10 attempts at batch 8: 5 and 5), so no batch is left nearly empty.
   */
  static List<int[]> batches(int n, int batch) {
    int count = (n + batch - 1) / batch;
    List<int[]> out = new ArrayList<>(count);
    int from = 0;
    for (int b = 0; b < count; b++) {
      int size = (n - from) / (count - b);
      int[] ids = new int[size];
      for (int j = 0; j < size; j++) {
        ids[j] = from + j;
      }
      out.add(ids);
      from += size;
    }
    return out;
  }

  /**
   * The image (1, 3, H, W) in [-1, 1] of a prompt given by its ids (L), with the row's seed and
   * guidance, as {@link StableDiffusion#generate} makes it from text: unconditional embedding of
   * "", {@code sampler} over {@code steps}, decoding. Ids, not text, because decoded tokens need
   * not encode back to the same ids.
   */
  public static NDArray generate(
      StableDiffusion sd,
      long[] ids,
      PromptRow row,
      Sampler sampler,
      int steps,
      int size,
      NDManager into) {
    return sd.generateIds(
        sampler,
        new long[][] {ids},
        new long[] {row.seed()},
        new float[] {(float) row.guidance()},
        steps,
        size,
        size,
        into);
  }

  /** Per head, each label's probability. */
  static Map<String, Map<String, Double>> scores(Detector detector, Verdict v) {
    Map<String, Map<String, Double>> out = new LinkedHashMap<>();
    List<Detector.Head> heads = detector.heads();
    for (int h = 0; h < heads.size(); h++) {
      Map<String, Double> labels = new LinkedHashMap<>();
      List<String> names = heads.get(h).labels();
      for (int l = 0; l < names.size(); l++) {
        labels.put(names.get(l), v.scores()[h][l]);
      }
      out.put(heads.get(h).name(), labels);
    }
    return out;
  }

  /** Per head, its top label. */
  static Map<String, String> topLabels(Detector detector, Verdict v) {
    Map<String, String> top = new LinkedHashMap<>();
    for (int h = 0; h < detector.heads().size(); h++) {
      top.put(detector.heads().get(h).name(), v.topLabels().get(h));
    }
    return top;
  }

  private static List<Long> boxed(long[] ids) {
    List<Long> out = new ArrayList<>(ids.length);
    for (long id : ids) {
      out.add(id);
    }
    return out;
  }
}

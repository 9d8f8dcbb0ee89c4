package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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
 * shared by UnlearnDiff and P4D). For attempt j = 0 … A − 1 at timestep t_j ({@link
 * AttemptSchedule}):
 *
 * <ol>
 *   <li>{@code iterations} updates of the adversarial tokens ({@link AdversarialTokens}): the text
 *       encoder reads [start, input × embedding table, prompt, end], the objective gives the loss
 *       on the attacked model, its gradient reaches the rows, Adam and the simplex projection
 *       follow;
 *   <li>the argmax tokens make the attacked prompt, whose image (the row's seed and guidance, DDIM)
 *       goes to the detector;
 *   <li>the prompt is broken at the first flagged image, and the attempts stop.
 * </ol>
 *
 * The rows and their Adam state carry over from one attempt to the next. The model is only read: no
 * weight or mask changes, and the weights get no gradients.
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
   * Attacks {@code row} on {@code sd} as it is (edit applied), with images of {@code size} pixels.
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
    try (NDManager manager = sd.manager().newSubManager()) {
      AdversarialTokens tokens =
          new AdversarialTokens(
              layout.k(), allowed, s.relaxation(), s.learningRate(), s.weightDecay(), manager);
      NDList persistent = new NDList();
      persistent.addAll(sd.unet().params().arrays());
      persistent.addAll(textEncoder.params().arrays());
      persistent.addAll(objective.arrays());
      persistent.add(tokens.rows());
      for (int j = 0; j < schedule.size() && !broken; j++) {
        // 1. optimise the tokens at t_j
        long t0 = System.nanoTime();
        List<Float> losses = new ArrayList<>(s.iterations());
        for (int i = 0; i < s.iterations(); i++) {
          float loss;
          try (StepScope scope = StepScope.open(manager, persistent)) {
            NDManager sm = scope.manager();
            try (GradientCollector gc = Torch.engine().newGradientCollector()) {
              NDArray input = tokens.input(Seeds.derive(row.seed(), Seeds.SAMPLE, j, i), sm);
              NDArray adv = textEncoder.tokenEmbedding().forwardSoft(input); // (k, D)
              NDArray condition = textEncoder.forwardEmbeds(layout.embeds(adv, textEncoder));
              NDArray l = objective.loss(condition, j, i, sm);
              loss = l.getFloat();
              gc.backward(l);
            }
            if (!Float.isFinite(loss)) {
              throw new IllegalStateException(
                  "the attack's loss became "
                      + loss
                      + " (attempt "
                      + (j + 1)
                      + ", iteration "
                      + (i + 1)
                      + ")");
            }
            tokens.update();
          }
          losses.add(loss);
          observer.iteration(j, i, loss, tokens);
        }
        long t1 = System.nanoTime();
        optimisation += (t1 - t0) / 1e9;
        // 2. the attacked prompt's image and its verdict
        long[] advIds = tokens.tokenIds();
        long[] ids = layout.ids(advIds);
        AttemptResult result;
        try (NDManager m = manager.newSubManager()) {
          NDArray image = generate(sd, ids, row, s.sampler(), schedule.steps(), size, m);
          long t2 = System.nanoTime();
          generation += (t2 - t1) / 1e9;
          Verdict v = detector.detect(image).get(0);
          detecting += (System.nanoTime() - t2) / 1e9;
          List<String> advTokens = new ArrayList<>();
          for (long id : advIds) {
            advTokens.add(tokenizer.tokenOf(id));
          }
          result =
              new AttemptResult(
                  j + 1,
                  schedule.ddimIndex(j),
                  schedule.timestep(j),
                  losses,
                  boxed(advIds),
                  advTokens,
                  boxed(layout.unpaddedIds(advIds)),
                  layout.text(advIds),
                  v.flagged(),
                  v.conceptScore(),
                  scores(detector, v),
                  topLabels(detector, v),
                  imagePrefix + String.format("attempt_%02d.png", j + 1));
          observer.attempt(result, image);
        }
        attempts.add(result);
        broken = result.flagged();
      }
    }
    return new Outcome(attempts, broken, optimisation, generation, detecting);
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
    try (NDManager run = into.newSubManager()) {
      NDArray uncond = sd.encodePrompts(List.of(""), run);
      NDArray cond;
      try (StepScope scope = StepScope.open(run, sd.textEncoder().params().arrays())) {
        NDArray idArray = scope.manager().create(ids).reshape(1, ids.length);
        cond = scope.keep(sd.textEncoder().forward(idArray));
      }
      NDArray embeddings = NDArrays.concat(new NDList(uncond, cond), 0); // [uncond; cond]
      NDArray latents = sd.initialLatents(row.seed(), 1, size, size, run);
      latents = sd.sample(sampler, latents, embeddings, (float) row.guidance(), steps, run, null);
      NDArray image = sd.decode(latents, run);
      image.attach(into);
      return image;
    }
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

package dev.perase.demo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.eval.Evaluation;
import dev.perase.eval.FrechetDistance;
import dev.perase.eval.Interval;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.PromptRow;
import dev.perase.io.SafeTensors;
import dev.perase.tensor.Torch;
import dev.perase.world.PromptRenderings;
import dev.perase.world.WorldDetector;
import dev.perase.world.WorldRenderer;
import java.nio.file.Path;
import java.util.List;

/**
 * The world's FID against real images: the Fréchet distance (detector features) between a model's
 * images of the retain prompts, as its evaluation left them, and renderings of what those prompts
 * ask for ({@link PromptRenderings}). Unlike the distance to the base model's images, the base
 * model has one too, so an erased model can be judged against it (the paper's COCO-30k FID).
 */
final class RenderedFrechet {
  static final String FILE = "retain_rendered.json";

  /**
   * What {@code retain_rendered.json} holds.
   *
   * @param prompts retain prompts compared
   * @param frechetDistance the distance between the model's and the rendered images' features
   * @param frechetInterval its 95 % bootstrap interval, each prompt's generated and rendered
   *     features resampled together ({@link FrechetDistance#bootstrap}); null in files written
   *     before it existed
   */
  record Result(
      @JsonProperty("prompts") int prompts,
      @JsonProperty("frechet_distance") double frechetDistance,
      @JsonProperty("frechet_interval") Interval frechetInterval) {}

  private RenderedFrechet() {}

  /** Computes and writes {@code evaluateDir/retain_rendered.json}. */
  static Result write(Path evaluateDir, Path retainCsv, Path detectorDir) {
    List<PromptRow> rows = PromptCsv.read(retainCsv);
    double[][] model;
    try (SafeTensors st = SafeTensors.open(evaluateDir.resolve(Evaluation.RETAIN_FEATURES))) {
      long[] shape = st.info("features").shape();
      model = rowsOf(st.floats("features"), (int) shape[0], (int) shape[1]);
    }
    double[][] rendered;
    try (NDManager m = Torch.newManager()) {
      WorldDetector detector = WorldDetector.load(detectorDir, m);
      List<float[]> images = PromptRenderings.render(rows);
      int per = WorldRenderer.CHANNELS * WorldRenderer.SIZE * WorldRenderer.SIZE;
      float[] flat = new float[images.size() * per];
      for (int i = 0; i < images.size(); i++) {
        System.arraycopy(images.get(i), 0, flat, i * per, per);
      }
      NDArray x =
          m.create(
              flat,
              new Shape(
                  images.size(), WorldRenderer.CHANNELS, WorldRenderer.SIZE, WorldRenderer.SIZE));
      NDArray f = detector.features(x);
      rendered = rowsOf(f.toFloatArray(), images.size(), (int) f.getShape().get(1));
    }
    Result r =
        new Result(
            rows.size(),
            FrechetDistance.of(model, rendered).distance(),
            FrechetDistance.bootstrap(
                model,
                rendered,
                FrechetDistance.BOOTSTRAP_RESAMPLES,
                FrechetDistance.BOOTSTRAP_SEED));
    Json.write(evaluateDir.resolve(FILE), r);
    return r;
  }

  private static double[][] rowsOf(float[] flat, int n, int dim) {
    double[][] out = new double[n][dim];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < dim; j++) {
        out[i][j] = flat[i * dim + j];
      }
    }
    return out;
  }
}

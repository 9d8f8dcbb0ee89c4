package dev.perase.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.perase.io.BadInputException;
import dev.perase.io.PromptRow;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.StepScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What the original model θ* gives an attack on one prompt, made by one guided DDIM run of the
 * prompt with its seed and guidance (exactly as the pipeline generates it):
 *
 * <ul>
 *   <li>{@code x0} (1, C, h, w): the final latents — UnlearnDiff's reference image of the concept
 *       (the UnlearnDiff code VAE-encodes the saved image; the latents themselves skip that round
 *       trip and its 8-bit rounding);
 *   <li>{@code trajectory} (A, C, h, w): the latents entering the loop step of each attempt,
 *       x_{t_j} on θ*'s own trajectory (P4D);
 *   <li>{@code targets} (A, C, h, w), P4D only: θ*'s conditional noise prediction ε*(x_{t_j}, c,
 *       t_j) for the original prompt c there;
 *   <li>{@code image} (1, 3, H, W): the decoded image, in [-1, 1].
 * </ul>
 */
public record Reference(NDArray x0, NDArray trajectory, NDArray targets, NDArray image) {
  static final String X0 = "x0";
  static final String TRAJECTORY = "trajectory";
  static final String TARGETS = "targets";
  static final String IMAGE = "image";
  static final String KEY = "key";
  static final String SECONDS = "seconds";

  /**
   * Runs θ* (the model as it is: call this with no edit applied) on {@code row}; arrays in {@code
   * into}.
   */
  public static Reference compute(
      StableDiffusion sd,
      PromptRow row,
      AttemptSchedule schedule,
      int size,
      boolean withTargets,
      NDManager into) {
    try (NDManager run = into.newSubManager()) {
      // 1. [uncond; cond] embeddings and the seed's initial latents, as StableDiffusion.generate
      NDArray embeddings = sd.encodePrompts(List.of("", row.prompt()), run);
      sd.scheduler().setTimesteps(schedule.steps());
      int[] timesteps = sd.scheduler().timesteps();
      NDArray latents = sd.initialLatents(row.seed(), 1, size, size, run);
      // 2. the loop in segments, capturing the latents that enter each attempt's step
      int[] order = schedule.ddimIndices(); // attempt j → loop index, decreasing in j
      NDArray[] captured = new NDArray[order.length];
      int done = 0;
      for (int pos = order.length - 1; pos >= -1; pos--) {
        int until = pos >= 0 ? order[pos] : timesteps.length;
        if (until > done) {
          NDArray next =
              sd.denoise(
                  latents,
                  embeddings,
                  (float) row.guidance(),
                  Arrays.copyOfRange(timesteps, done, until),
                  run,
                  null);
          latents = next;
          done = until;
        }
        if (pos >= 0) {
          captured[pos] = latents;
        }
      }
      NDArray image = sd.decode(latents, run);
      NDArray trajectory = NDArrays.concat(new NDList(captured), 0);
      // 3. P4D's targets ε*(x_t, c, t), conditional (no guidance), one attempt at a time
      NDArray targets = null;
      if (withTargets) {
        NDArray cond = embeddings.get(new NDIndex("1:2"));
        NDList persistent = sd.unet().params().arrays();
        persistent.add(trajectory);
        persistent.add(cond);
        NDList eps = new NDList();
        for (int j = 0; j < captured.length; j++) {
          try (StepScope scope = StepScope.open(run, persistent)) {
            NDArray xt = trajectory.get(new NDIndex("{}:{}", j, j + 1));
            NDArray t = scope.manager().create(new float[] {schedule.timestep(j)});
            eps.add(scope.keep(sd.unet().forward(xt, t, cond)));
          }
        }
        targets = NDArrays.concat(eps, 0);
        targets.attach(into);
      }
      latents.attach(into);
      trajectory.attach(into);
      image.attach(into);
      return new Reference(latents, trajectory, targets, image);
    }
  }

  /** Writes the arrays as F32 with {@code key} and the seconds the run took in the metadata. */
  public void write(Path file, String key, double seconds) {
    SafeTensorsWriter w =
        new SafeTensorsWriter()
            .metadata(KEY, key)
            .metadata(SECONDS, Double.toString(seconds))
            .put(X0, x0)
            .put(TRAJECTORY, trajectory);
    if (targets != null) {
      w.put(TARGETS, targets);
    }
    w.put(IMAGE, image).write(file);
  }

  /**
   * The reference written for {@code key}, or null when the file is missing, was written for
   * another key or cannot be read (it is then made again).
   */
  public static Reference read(Path file, String key, boolean withTargets, NDManager into) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (SafeTensors st = SafeTensors.open(file)) {
      if (!key.equals(st.metadata().get(KEY))
          || !st.has(X0)
          || !st.has(TRAJECTORY)
          || !st.has(IMAGE)
          || (withTargets && !st.has(TARGETS))) {
        return null;
      }
      return new Reference(
          st.load(X0, into),
          st.load(TRAJECTORY, into),
          withTargets ? st.load(TARGETS, into) : null,
          st.load(IMAGE, into));
    } catch (BadInputException e) {
      return null;
    }
  }

  /** The trajectory latents of attempt j, (1, C, h, w). */
  public NDArray trajectory(int attempt) {
    return trajectory.get(new NDIndex("{}:{}", attempt, attempt + 1));
  }

  /** P4D's target of attempt j, (1, C, h, w). */
  public NDArray target(int attempt) {
    if (targets == null) {
      throw new IllegalStateException("this reference holds no P4D targets");
    }
    return targets.get(new NDIndex("{}:{}", attempt, attempt + 1));
  }

  /** The arrays, for temp-attaching in step scopes. */
  public NDList arrays() {
    NDList l = new NDList(x0, trajectory, image);
    if (targets != null) {
      l.add(targets);
    }
    return l;
  }
}

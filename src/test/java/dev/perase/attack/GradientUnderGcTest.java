package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The gradient that reaches the adversarial rows through the text encoder and the UNet is the same
 * with the garbage collector running all along as without it. (DJL's {@code mul(Number)} frees its
 * scalar tensor while autograd still holds it; with a collection between forward and backward the
 * gradient came out NaN at the first iteration. {@code Ops.scale} keeps the scalar alive.)
 */
@Tag("slow")
class GradientUnderGcTest {
  private static float[] gradient(StableDiffusion sd, NDManager m, NDArray latent, int repeats) {
    boolean[] allowed = AdversarialTokens.allowedTokens(sd.tokenizer(), List.of());
    PromptLayout layout = new PromptLayout(sd.tokenizer(), "a photo of a cat", 3);
    float[] last = null;
    for (int r = 0; r < repeats; r++) {
      AdversarialTokens tokens = new AdversarialTokens(3, allowed, Relaxation.SOFT, 0.01, 0.1, m);
      NDList persistent = new NDList();
      persistent.addAll(sd.unet().params().arrays());
      persistent.addAll(sd.textEncoder().params().arrays());
      persistent.add(tokens.rows());
      persistent.add(latent);
      try (StepScope scope = StepScope.open(m, persistent)) {
        try (GradientCollector gc = Torch.engine().newGradientCollector()) {
          NDArray adv =
              sd.textEncoder().tokenEmbedding().forwardSoft(tokens.input(0, scope.manager()));
          NDArray cond = sd.textEncoder().forwardEmbeds(layout.embeds(adv, sd.textEncoder()));
          NDArray t = scope.manager().create(new float[] {500});
          NDArray pred = sd.unet().forward(latent, t, cond);
          gc.backward(pred.mul(pred).mean());
        }
        try (NDArray g = tokens.rows().getGradient()) {
          float[] now = g.toFloatArray();
          if (last != null) {
            assertArrayEquals(last, now, "repeat " + r);
          }
          last = now;
        }
      }
    }
    return last;
  }

  @Test
  void gradientsThroughTheModelsAreUnchangedByGarbageCollection() throws InterruptedException {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd());
        NDManager m = Torch.newManager()) {
      Torch.seed(4);
      NDArray latent = m.randomNormal(new Shape(1, 4, 16, 16));
      float[] quiet = gradient(sd, m, latent, 1);
      boolean finite = true;
      for (float v : quiet) {
        finite &= Float.isFinite(v);
      }
      assertTrue(finite);
      Thread collector =
          new Thread(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  System.gc();
                  try {
                    Thread.sleep(1);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
      collector.setDaemon(true);
      collector.start();
      try {
        float[] busy = gradient(sd, m, latent, 3);
        assertArrayEquals(quiet, busy);
      } finally {
        collector.interrupt();
        collector.join();
      }
    }
  }
}

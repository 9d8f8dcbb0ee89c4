package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.io.SafeTensors;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * During a checkpointed backward, the soft mask forms ∂L/∂s of each segment's parameters as soon as
 * the segment is done and frees their products W ⊙ m ({@link SoftMask#gradientsComplete}): every
 * product is freed by the end of the backward, and ∂L/∂s, the masks and the AdamW state are those
 * formed at the optimiser step, bit for bit.
 */
class EarlyMaskGradientTest {
  @TempDir Path tmp;

  @Test
  void everyProductIsFreedAndTheGradientsAreTheSame() throws Exception {
    try (NDManager manager = Torch.newManager()) {
      UNet2DConditionModel unet =
          UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), manager);
      MaskSettings settings = MaskSettings.DEFAULT;
      try (SoftMask mask =
          SoftMask.create(unet.params(), Selection.parse("non-cross-attn"), settings, manager)) {
        Torch.seed(7);
        NDArray sample = manager.randomNormal(new Shape(1, 4, 16, 16));
        NDArray text = manager.randomNormal(new Shape(1, 77, 32));
        NDArray target = manager.randomNormal(new Shape(1, 4, 16, 16));
        NDArray timestep = manager.create(new float[] {401f});
        int n = mask.params().size();
        assertTrue(
            mask.params().stream().anyMatch(p -> p.name().startsWith("time_embedding.")),
            "the selection reaches the time embedding, whose gradient comes last");

        List<float[]> late =
            gradients(unet, mask, manager, sample, timestep, text, target, false, k -> {});
        assertEquals(n, late.size());
        List<List<String>> heard = new ArrayList<>();
        List<float[]> early =
            gradients(
                unet,
                mask,
                manager,
                sample,
                timestep,
                text,
                target,
                true,
                keys -> {
                  heard.add(keys);
                  mask.gradientsComplete(keys);
                });
        // conv_out's segment, every other segment, then the time embedding
        assertTrue(heard.size() > 3, "segments heard: " + heard);
        for (int i = 0; i < n; i++) {
          assertArrayEquals(late.get(i), early.get(i), mask.params().get(i).name());
        }
      }
    }
  }

  /** ∂L/∂s of every masked parameter after one checkpointed backward; the live products checked. */
  private static List<float[]> gradients(
      UNet2DConditionModel unet,
      SoftMask mask,
      NDManager manager,
      NDArray sample,
      NDArray timestep,
      NDArray text,
      NDArray target,
      boolean early,
      Consumer<List<String>> done) {
    List<float[]> out = new ArrayList<>();
    try (NDManager sub = manager.newSubManager()) {
      sub.tempAttachAll(unet.params().arrays());
      mask.install(sub);
      int n = mask.params().size();
      assertEquals(n, mask.liveProducts());
      try (GradientCollector gc = Torch.engine().newGradientCollector()) {
        unet.lossBackwardCheckpointed(
            sample, timestep, text, p -> p.sub(target).square().mean(), done);
      }
      // with the listener every product is freed once its segment's backward is done
      assertEquals(early ? 0 : n, mask.liveProducts(), "live products");
      for (int i = 0; i < n; i++) {
        try (NDArray g = mask.gradient(i)) {
          out.add(g.toFloatArray());
        }
      }
      mask.uninstall();
      return out;
    }
  }

  /**
   * A P-ESD run with checkpointed activations: the same masks and state with and without, with a
   * step whose first try is discarded as non-finite after the gradients were formed.
   */
  @Test
  void aCheckpointedRunIsTheSameBitForBit() throws IOException {
    Path[] runs = new Path[2];
    for (int r = 0; r < 2; r++) {
      SoftMask.formEarly = r == 0;
      ErasingLoop.faultInjection = (step, attempt) -> step == 1 && attempt == 0;
      try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
        sd.unet().checkpointActivations(true);
        EraseSettings settings = MaskTrainerTest.pEsd(sd, "non-cross-attn", 3);
        runs[r] = tmp.resolve(r == 0 ? "early" : "late");
        MaskTrainer.train(sd, settings, runs[r], false, null);
      } finally {
        SoftMask.formEarly = true;
        ErasingLoop.faultInjection = (step, attempt) -> false;
      }
    }
    for (Path run : runs) {
      assertTrue(
          Files.readAllLines(run.resolve("log.jsonl")).get(1).contains("recomputed"),
          run + ": step 2 recomputed");
    }
    assertArrayEquals(
        Files.readAllBytes(runs[1].resolve(MaskTrainer.OUTPUT)),
        Files.readAllBytes(runs[0].resolve(MaskTrainer.OUTPUT)),
        "masks differ");
    try (SafeTensors a = SafeTensors.open(runs[0].resolve("checkpoint.safetensors"));
        SafeTensors b = SafeTensors.open(runs[1].resolve("checkpoint.safetensors"))) {
      int compared = 0;
      for (String k : b.keys()) {
        assertArrayEquals(b.floats(k), a.floats(k), k);
        compared++;
      }
      assertTrue(compared > 0);
    }
  }
}

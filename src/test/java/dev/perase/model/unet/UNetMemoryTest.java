package dev.perase.model.unet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.perase.Fixtures;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The step-scope discipline of STYLE.md §7 holds for UNet training: RSS stays flat. */
@Tag("slow")
class UNetMemoryTest {
  private static final int STEPS = 200;

  @Test
  void twoHundredTrainingStepsDoNotGrowMemory() throws IOException {
    try (NDManager manager = Torch.newManager()) {
      UNet2DConditionModel unet =
          UNet2DConditionModel.load(Fixtures.tinySd().resolve("unet"), manager);
      for (Param p : unet.params().named().values()) {
        p.value().setRequiresGradient(true);
      }
      // a stray attach to the base manager now throws instead of leaking
      manager.cap();
      Param probe =
          unet.params().get("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight");

      long rssAt20 = 0;
      long start = System.nanoTime();
      for (int step = 1; step <= STEPS; step++) {
        try (NDManager sub = manager.newSubManager()) {
          sub.tempAttachAll(unet.params().arrays());
          NDArray sample = sub.randomNormal(new Shape(2, 4, 16, 16));
          NDArray text = sub.randomNormal(new Shape(2, 77, 32));
          NDArray target = sub.randomNormal(new Shape(2, 4, 16, 16));
          NDArray timestep = sub.create(new long[] {step % 1000, (7L * step) % 1000});
          try (GradientCollector gc = Torch.engine().newGradientCollector()) {
            NDArray pred = unet.forward(sample, timestep, text);
            NDArray loss = pred.sub(target).square().mean();
            gc.backward(loss);
          }
          if (step == 1) {
            float g = probe.value().getGradient().abs().sum().getFloat();
            assertTrue(g > 0, "backward reached the cross-attention weights");
          }
          for (Param p : unet.params().named().values()) {
            NDArray g = p.value().getGradient();
            g.subi(g);
          }
        }
        if (step == 20) {
          rssAt20 = rssBytes();
        }
      }
      long rssAt200 = rssBytes();
      double seconds = (System.nanoTime() - start) / 1e9;
      double growthMb = (rssAt200 - rssAt20) / 1e6;
      System.out.printf(
          "unet memory: RSS %.1f MB after step 20, %.1f MB after step %d (growth %.1f MB);"
              + " %.1f ms per fwd+bwd step%n",
          rssAt20 / 1e6, rssAt200 / 1e6, STEPS, growthMb, seconds * 1000 / STEPS);
      assertTrue(growthMb < 200, "RSS grew by " + growthMb + " MB over " + (STEPS - 20) + " steps");
    }
  }

  /** VmRSS of this process, from /proc/self/status. */
  private static long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}

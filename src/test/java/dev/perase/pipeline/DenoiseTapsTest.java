package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.model.nn.Taps;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The denoising loop's activation hook: taps see only the steps asked for and change nothing. */
class DenoiseTapsTest {
  @Test
  void denoiseTapsReportOnlyTheChosenStepsAndChangeNoLatent() {
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd());
        NDManager m = Torch.newManager()) {
      NDArray emb = sd.encodePrompts(List.of("", "a photo of a horse"), m);
      sd.scheduler().setTimesteps(3);
      int[] ts = sd.scheduler().timesteps();
      NDArray plain = sd.denoise(sd.initialLatents(4, 1, 32, 32, m), emb, 7.5f, ts, m, null);

      List<Integer> asked = new ArrayList<>();
      List<String> seen = new ArrayList<>();
      List<long[]> shapes = new ArrayList<>();
      NDArray tapped =
          sd.denoise(
              sd.initialLatents(4, 1, 32, 32, m),
              emb,
              7.5f,
              ts,
              m,
              null,
              step -> {
                asked.add(step);
                if (step != 2) {
                  return Taps.NONE;
                }
                return (name, value) -> {
                  seen.add(name);
                  if (name.equals("down_blocks.0.resnets.0.conv2_input")) {
                    shapes.add(value.getShape().getShape());
                  }
                };
              });
      assertEquals(List.of(1, 2, 3), asked, "asked once per step, 1-based");
      assertEquals(1, shapes.size(), "one UNet call at step 2 reported the tap");
      assertArrayEquals(new long[] {2, 32, 16, 16}, shapes.get(0), "[uncond, cond] rows");
      assertEquals(seen.size(), seen.stream().distinct().count(), "each module once");
      assertArrayEquals(plain.toFloatArray(), tapped.toFloatArray(), "taps only observe");
    }
  }
}

package dev.perase.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Recording the neurons of the world model: every ResnetBlock2D's conv2 input, conditional row, at
 * the chosen steps, during a generation that equals {@code generate}'s.
 */
class ActivationsTest {
  static final Path WORLD = Fixtures.world();
  private static StableDiffusion sd;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(WORLD);
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  @Test
  void recordingKeepsGeneratesImageAndEveryResnetsConditionalConv2Input() {
    String prompt = "a crimson star by Vortex";
    Activations.Generation g =
        new Activations.Generation(sd.tokenizer().encode(prompt), 7, 7.5f, 4, 32);
    Activations a = Activations.record(sd, g, new int[] {2, 4}, null);

    // 11 ResnetBlock2D of the world (layers_per_block 1: one per down block, two per up block)'s
    // UNet, in forward order
    List<String> expected = new ArrayList<>();
    for (int b = 0; b < 3; b++) {
      expected.add("down_blocks." + b + ".resnets.0");
    }
    expected.add("mid_block.resnets.0");
    expected.add("mid_block.resnets.1");
    for (int b = 0; b < 3; b++) {
      for (int r = 0; r < 2; r++) {
        expected.add("up_blocks." + b + ".resnets." + r);
      }
    }
    assertEquals(expected, a.layers());
    assertArrayEquals(new int[] {32, 32, 32}, a.shape("down_blocks.0.resnets.0"));
    assertArrayEquals(new int[] {64, 8, 8}, a.shape("mid_block.resnets.1"));
    assertArrayEquals(new int[] {32, 32, 32}, a.shape("up_blocks.2.resnets.1"));
    sd.scheduler().setTimesteps(4);
    int[] ts = sd.scheduler().timesteps();
    assertArrayEquals(new int[] {ts[1], ts[3]}, a.timesteps());
    assertFalse(
        Arrays.equals(a.maps("mid_block.resnets.0", 0), a.maps("mid_block.resnets.0", 1)),
        "steps 2 and 4 hold their own maps");

    // the image is generate's, bit for bit
    try (NDManager m = Torch.newManager()) {
      GenerateSettings s = new GenerateSettings(prompt, null, 7, 4, 7.5f, 32, 32, 1);
      NDArray image = sd.generate(s, m, null).images();
      assertArrayEquals(image.toFloatArray(), a.image());
    }

    // the recorded maps are the second ([uncond, cond]) row of the tap, at that step
    float[][] row = new float[2][];
    try (NDManager m = Torch.newManager()) {
      NDArray emb = sd.encodePrompts(List.of("", prompt), m);
      sd.denoise(
          sd.initialLatents(7, 1, 32, 32, m),
          emb,
          7.5f,
          ts,
          m,
          null,
          step ->
              step != 4
                  ? dev.perase.model.nn.Taps.NONE
                  : (name, value) -> {
                    if (name.equals("up_blocks.1.resnets.1.conv2_input")) {
                      row[0] = value.get(0).toFloatArray();
                      row[1] = value.get(1).toFloatArray();
                    }
                  });
    }
    assertArrayEquals(row[1], a.maps("up_blocks.1.resnets.1", a.stepIndex(4)));
    assertFalse(Arrays.equals(row[0], row[1]), "the unconditional row differs");
  }

  @Test
  void stepsOutsideTheLoopAreRefused() {
    Activations.Generation g =
        new Activations.Generation(sd.tokenizer().encode("a star"), 1, 7.5f, 3, 32);
    assertThrows(
        IllegalArgumentException.class, () -> Activations.record(sd, g, new int[] {4}, null));
    assertThrows(
        IllegalArgumentException.class, () -> Activations.record(sd, g, new int[] {2, 1}, null));
  }

  @Test
  void upsamplingMatchesTorchBilinearWithHalfPixelCentres() {
    // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4),
    //     mode="bilinear", align_corners=False)
    float[] expected = {
      1.00f, 1.25f, 1.75f, 2.00f,
      1.50f, 1.75f, 2.25f, 2.50f,
      2.50f, 2.75f, 3.25f, 3.50f,
      3.00f, 3.25f, 3.75f, 4.00f
    };
    assertArrayEquals(expected, HeatMaps.upsample(new float[] {1, 2, 3, 4}, 2, 2, 4, 4), 1e-6f);
  }
}

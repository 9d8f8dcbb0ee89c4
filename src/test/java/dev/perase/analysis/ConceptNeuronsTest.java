package dev.perase.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.eval.EditFile;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Eq. 4 on the tiny fixture (its first down block normalises each of its 32 channels alone, so an
 * edit of one channel's conv1 changes that neuron and no other of the layer).
 */
class ConceptNeuronsTest {
  private static final String LAYER = "down_blocks.0.resnets.1";
  private static StableDiffusion sd;

  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  private Path prompts() throws IOException {
    Path csv = tmp.resolve("prompts.csv");
    Files.writeString(
        csv,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "0,a photo of a horse,3,7.5\n"
            + "1,an astronaut on mars,4,5.0\n");
    return csv;
  }

  private NeuronSettings settings(Path weights, int[] at) throws IOException {
    return new NeuronSettings(
        prompts(),
        EditFile.of(null, weights),
        null,
        Fixtures.tinySd(),
        null,
        2,
        at,
        5,
        32,
        0,
        0,
        tmp.resolve("out"),
        "test");
  }

  /** A weights file holding {@code key}'s base values with {@code zeroRows} output rows zeroed. */
  private Path weights(String name, Map<String, Integer> zeroRow) {
    SafeTensorsWriter w = new SafeTensorsWriter();
    for (Map.Entry<String, Integer> e : zeroRow.entrySet()) {
      Param p = sd.unet().params().get(e.getKey());
      long[] shape = p.value().getShape().getShape();
      float[] v = p.value().toFloatArray();
      if (e.getValue() >= 0) {
        int row = v.length / (int) shape[0];
        java.util.Arrays.fill(v, e.getValue() * row, (e.getValue() + 1) * row, 0f);
      }
      w.putFloats(e.getKey(), shape, v);
    }
    Path file = tmp.resolve(name);
    w.write(file);
    return file;
  }

  @Test
  void scoresAreZeroWhenTheErasedModelEqualsTheOriginal() throws IOException {
    Path same =
        weights("same.safetensors", Map.of("conv_in.weight", -1, LAYER + ".conv1.weight", -1));
    NeuronAnalysis.Result r =
        NeuronAnalysis.run(sd, settings(same, new int[] {1, 2}), NeuronAnalysis.Listener.NONE);
    ConceptNeurons n = r.neurons();
    assertEquals(2, n.prompts());
    assertEquals(12, n.layers().size(), "the tiny UNet's 12 ResnetBlock2D");
    for (ConceptNeurons.Layer l : n.layers()) {
      for (int i = 0; i < 2; i++) {
        for (int c = 0; c < l.channels(); c++) {
          assertEquals(0.0, l.scores()[i][c], l.layer() + " step " + n.steps()[i] + " ch " + c);
          assertEquals(0.0, l.meanChange()[i][c]);
        }
      }
    }
  }

  @Test
  void zeroingOneChannelsConvMakesThatChannelRankFirstInItsLayer() throws IOException {
    int k = 13;
    Path edit =
        weights("zero13.safetensors", Map.of(LAYER + ".conv1.weight", k, LAYER + ".conv1.bias", k));
    NeuronAnalysis.Result r =
        NeuronAnalysis.run(sd, settings(edit, new int[] {1, 2}), NeuronAnalysis.Listener.NONE);
    ConceptNeurons n = r.neurons();
    ConceptNeurons.Layer layer =
        n.layers().stream().filter(l -> l.layer().equals(LAYER)).findFirst().orElseThrow();

    // step 1: both models start from the same noise, so only the edited neuron moves in its layer
    assertTrue(layer.scores()[0][k] > 0, "the zeroed channel changes");
    for (int c = 0; c < layer.channels(); c++) {
      if (c != k) {
        assertEquals(0.0, layer.scores()[0][c], "channel " + c + " at step 1");
      }
    }
    ConceptNeurons.Layer upstream = n.layers().get(0);
    assertEquals("down_blocks.0.resnets.0", upstream.layer());
    for (double s : upstream.scores()[0]) {
      assertEquals(0.0, s, "a layer before the edit does not change at step 1");
    }
    assertEquals(k, n.topK(1, 1).get(LAYER)[0]);
    assertEquals(k, layer.top()[0][0]);
    // later steps follow diverging trajectories; the edited neuron still leads
    assertEquals(k, n.topK(1, 2).get(LAYER)[0]);
    assertEquals(k, n.topK(1).get(LAYER)[0]);
    assertEquals(k, layer.topOverSteps()[0]);
    assertEquals(5, n.topK(5, 2).get(LAYER).length);

    // the CSV: one row per layer, step and channel
    long neurons = n.layers().stream().mapToLong(ConceptNeurons.Layer::channels).sum();
    List<String> csv =
        Files.readAllLines(tmp.resolve("out").resolve(NeuronAnalysis.CONCEPT_NEURONS_CSV));
    assertEquals(1 + 2 * neurons, csv.size());
    assertTrue(
        csv.contains(
            LAYER
                + ",1,"
                + n.timesteps()[0]
                + ","
                + k
                + ","
                + ConceptNeurons.num(layer.scores()[0][k])
                + ","
                + ConceptNeurons.num(layer.meanChange()[0][k])
                + ",1,true"));
  }

  @Test
  void rankingIsDescendingWithTiesToTheLowerChannel() {
    assertArrayEquals(new int[] {3, 1, 4}, ConceptNeurons.rank(new double[] {0, 2, 1, 5, 2}, 3));
    assertThrows(IllegalArgumentException.class, () -> ConceptNeurons.rank(new double[2], 3));
  }

  @Test
  void conv2InputIndicesCoverEveryOutputAndKernelPositionOfTheChannels() {
    // weight (O = 2, C = 3, 1, 2): element (o, c, 0, j) at (o·3 + c)·2 + j
    assertArrayEquals(
        new int[] {0, 1, 4, 5, 6, 7, 10, 11},
        ConceptNeurons.conv2InputIndices(new long[] {2, 3, 1, 2}, new int[] {2, 0}));
    assertEquals(
        "up_blocks.1.resnets.2.conv2.weight", ConceptNeurons.conv2Weight("up_blocks.1.resnets.2"));
    assertThrows(
        IllegalArgumentException.class,
        () -> ConceptNeurons.conv2InputIndices(new long[] {2, 3, 1, 2}, new int[] {3}));
  }
}

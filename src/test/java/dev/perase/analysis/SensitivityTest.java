package dev.perase.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.pipeline.StableDiffusion;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Eq. 5 on the world model: a prompt against itself, against another prompt; the split. */
class SensitivityTest {
  private static StableDiffusion sd;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(ActivationsTest.WORLD);
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  private static Activations record(String prompt, long seed) {
    return Activations.record(
        sd,
        new Activations.Generation(sd.tokenizer().encode(prompt), seed, 7.5f, 3, 32),
        new int[] {1, 3},
        null);
  }

  private static Sensitivity.Pair pair(String prompt, String adversarial) {
    return new Sensitivity.Pair(0, prompt, adversarial, 5, 7.5, false);
  }

  @Test
  void aPromptWithItselfHasZeroSensitivity() {
    Activations a = record("a crimson star", 5);
    Activations again = record("a crimson star", 5);
    for (double[][] perStep : Sensitivity.Accumulator.perNeuron(a, again).values()) {
      for (double[] channels : perStep) {
        for (double v : channels) {
          assertEquals(0.0, v);
        }
      }
    }
    ConceptNeurons.Accumulator eq4 = new ConceptNeurons.Accumulator();
    eq4.add(a, record("a blue ring", 5));
    ConceptNeurons neurons = eq4.build(3);
    Sensitivity.Accumulator eq5 = new Sensitivity.Accumulator();
    eq5.add(pair("a crimson star", "a crimson star"), a, again);
    Sensitivity s = eq5.build(neurons);
    for (Sensitivity.StepSummary st : s.perStep()) {
      assertEquals(11 * 3, st.concept().count(), "3 concept neurons in each of 11 layers");
      assertEquals(0.0, st.concept().max());
      assertEquals(0.0, st.other().max());
    }
  }

  @Test
  void conceptAndOtherNeuronsSplitByEachStepsTopK() {
    Activations prompt = record("a crimson star", 5);
    Activations adversarial = record("zebra a crimson star", 5);
    ConceptNeurons.Accumulator eq4 = new ConceptNeurons.Accumulator();
    eq4.add(prompt, record("a crimson star", 6));
    ConceptNeurons neurons = eq4.build(2);
    Sensitivity.Accumulator eq5 = new Sensitivity.Accumulator();
    eq5.add(pair("a crimson star", "zebra a crimson star"), prompt, adversarial);
    eq5.add(pair("a crimson star", "zebra a crimson star"), prompt, adversarial);
    Sensitivity s = eq5.build(neurons);
    Map<String, double[][]> one = Sensitivity.Accumulator.perNeuron(prompt, adversarial);

    for (int i = 0; i < 2; i++) {
      double conceptSum = 0;
      double allSum = 0;
      int all = 0;
      for (ConceptNeurons.Layer l : neurons.layers()) {
        double[] v = one.get(l.layer())[i];
        for (int c : l.top()[i]) {
          conceptSum += v[c];
        }
        for (double x : v) {
          allSum += x;
          all++;
        }
      }
      Sensitivity.StepSummary st = s.perStep().get(i);
      assertEquals(22, st.concept().count());
      assertEquals(all - 22, st.other().count());
      // two identical pairs average to one pair's values
      assertEquals(conceptSum / 22, st.concept().mean(), 1e-9);
      assertEquals((allSum - conceptSum) / (all - 22), st.other().mean(), 1e-9);
      assertTrue(st.other().max() > 0, "another prompt moves the neurons");
    }
  }

  @Test
  void aNeuronsChangeIsTheL2NormOverItsPlane() {
    Activations a = record("a crimson star", 5);
    Activations b = record("a blue ring", 5);
    String layer = "down_blocks.1.resnets.0";
    int[] s = a.shape(layer); // (64, 16, 16)
    int k = 17;
    int plane = s[1] * s[2];
    double sum = 0;
    for (int j = 0; j < plane; j++) {
      double d = (double) a.maps(layer, 1)[k * plane + j] - b.maps(layer, 1)[k * plane + j];
      sum += d * d;
    }
    double expected = Math.sqrt(sum);
    assertTrue(expected > 0);
    assertEquals(expected, Sensitivity.Accumulator.perNeuron(a, b).get(layer)[1][k], 1e-9);
  }

  @Test
  void distributionQuartilesInterpolateLinearlyAsNumpy() {
    Sensitivity.Distribution d = Sensitivity.Distribution.of(new double[] {4, 1, 3, 2});
    assertEquals(1.75, d.q1(), 1e-12);
    assertEquals(2.5, d.median(), 1e-12);
    assertEquals(3.25, d.q3(), 1e-12);
    assertEquals(2.5, d.mean(), 1e-12);
    assertEquals(Math.sqrt(1.25), d.std(), 1e-12);
    assertEquals(1.0, d.values()[0]);
  }
}

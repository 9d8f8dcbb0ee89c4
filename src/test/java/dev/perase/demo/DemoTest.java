package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.analysis.HeatMaps;
import dev.perase.analysis.NeuronAnalysis;
import dev.perase.cli.CliRun;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.EraseMethod;
import dev.perase.io.Json;
import dev.perase.report.HeatMapFigure;
import dev.perase.report.LayerPruning;
import dev.perase.report.MethodRow;
import dev.perase.report.PrunedWeights;
import dev.perase.report.Report;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code perase demo --quick} on the world model, end to end through the CLI: every step runs, the
 * report is complete and shows the study's own numbers, a second run resumes (skips every step) to
 * the same results, and the folder refuses a study at another scale. Also: an erasure interrupted
 * mid-way continues from its checkpoint to what an uninterrupted one gives. Checks behaviour only,
 * never how well the model erases.
 */
@Tag("slow")
class DemoTest {
  private static final Path WORLD = Fixtures.world();
  private static final List<String> MODELS =
      List.of(
          "base", "esd", "p-esd", "ac", "p-ac", "uce", "fmn", "pre-prune", "post-prune", "np-esd");

  @TempDir Path tmp;

  @Test
  void quickDemoReportsTheStudyItRanAndResumesToTheSameResults() throws IOException {
    Path out = tmp.resolve("demo");
    CliRun first = CliRun.of("demo", "--quick", "--out", out.toString());
    assertEquals(0, first.code(), first.output());

    // 1. a complete, self-contained page
    Path html = out.resolve(Report.HTML);
    assertTrue(Files.isRegularFile(html));
    assertEquals(List.of(), Report.missingReferences(html));

    // 2. the report's tables are the study's numbers
    DemoSettings s =
        DemoSettings.quick(out, WORLD, WORLD.resolve("detector"), WORLD.resolve("prompts"));
    StudyLayout layout = StudyLayout.of(s);
    StudyResults study = Json.read(layout.study(), StudyResults.class);
    StudyReport report = Json.read(out.resolve(Report.JSON), StudyReport.class);
    assertEquals(s.beds().size(), study.beds().size());
    assertEquals(study.beds().size(), report.testBeds().size());
    for (int b = 0; b < study.beds().size(); b++) {
      String bed = s.beds().get(b);
      StudyResults.Bed sb = study.beds().get(b);
      TestBed rb = report.testBeds().get(b);
      assertEquals(MODELS, sb.rows().stream().map(StudyResults.Row::model).toList(), bed);
      assertEquals(MODELS.size(), rb.rows().size(), bed);
      for (int i = 0; i < MODELS.size(); i++) {
        StudyResults.Row sr = sb.rows().get(i);
        MethodRow rr = rb.rows().get(i);
        String where = bed + " " + sr.model();
        assertEquals(i == 0, rr.base(), where);
        assertNotNull(sr.cerTest(), where);
        assertNotNull(sr.cerUnlearnDiff(), where);
        assertNotNull(sr.cerP4d(), where);
        assertNotNull(sr.retainFrechet(), where);
        assertNotNull(sr.retainFrechetRendered(), where);
        assertEquals(sr.retainFrechetRendered(), rr.retainFdRendered(), where);
        assertEquals(sr.cerTest(), rr.cerTest(), where);
        assertEquals(sr.cerUnlearnDiff(), rr.cerUnlearnDiff(), where);
        assertEquals(sr.cerP4d(), rr.cerP4d(), where);
        assertEquals(Math.max(0, sr.retainFrechet()), rr.retainFd(), where);
        boolean pruning = sr.model().startsWith("p-") || sr.model().endsWith("-prune");
        assertEquals(pruning, sr.prunedRatio() != null, where);
        assertEquals(sr.prunedRatio(), rr.prunedRatio(), where);
      }
      figuresMatchTheirData(s, bed, rb);
      erasureUsedThePaperDefaults(s, bed);
    }

    // 3. a second run skips every step: no step's time is re-recorded, the study reads the same
    String timings = Files.readString(layout.timings());
    String studyJson = Files.readString(layout.study());
    CliRun second = CliRun.of("demo", "--quick", "--out", out.toString());
    assertEquals(0, second.code(), second.output());
    assertEquals(timings, Files.readString(layout.timings()));
    assertEquals(studyJson, Files.readString(layout.study()));
    assertEquals(List.of(), Report.missingReferences(html));

    // 4. the folder is not continued at another scale, which would mix two studies
    CliRun full = CliRun.of("demo", "--out", out.toString());
    assertEquals(2, full.code(), full.output());
    assertTrue(full.output().contains("other settings (quick, erase_steps"), full.output());
    assertEquals(studyJson, Files.readString(layout.study()));
  }

  /** Each figure is there exactly when the step behind it wrote its data, and shows those data. */
  private static void figuresMatchTheirData(DemoSettings s, String bed, TestBed rb) {
    // Fig. 6: one chart per mask, its layers and counts those of the mask
    List<PrunedWeights> pruned = rb.prunedWeights();
    assertEquals(List.of("P-ESD", "P-AC"), pruned.stream().map(PrunedWeights::method).toList());
    for (PrunedWeights p : pruned) {
      BinaryMask mask =
          BinaryMask.read(
              StudyLayout.of(s).artifact(bed, EraseMethod.parse(p.method().toLowerCase())));
      dev.perase.analysis.PrunedWeights a = dev.perase.analysis.PrunedWeights.of(mask);
      assertEquals(
          a.byLayer().stream().map(dev.perase.analysis.PrunedWeights.Group::name).toList(),
          p.layers().stream().map(LayerPruning::layer).toList());
      assertEquals(mask.prunedCount(), p.prunedCount());
      assertEquals(mask.totalElements(), p.totalCount());
    }

    // Figs. 2 and 5: two series (concept, other) per analysis whose attack gave adversarial pairs
    int withPairs = 0;
    int heatMaps = 0;
    for (EraseMethod m : List.of(EraseMethod.ESD, EraseMethod.P_ESD)) {
      Path dir = StudyLayout.of(s).neuronsDir(bed, m);
      assertTrue(Files.isRegularFile(dir.resolve(NeuronAnalysis.CONCEPT_NEURONS)), dir.toString());
      withPairs += Files.isRegularFile(dir.resolve(NeuronAnalysis.SENSITIVITY)) ? 1 : 0;
      Path index = dir.resolve(NeuronAnalysis.HEATMAPS).resolve(NeuronAnalysis.HEATMAP_INDEX);
      HeatMaps.Entry[] entries = Json.read(index, HeatMaps.Entry[].class);
      assertTrue(entries.length >= 1 && entries.length <= Demo.NEURON_HEATMAPS);
      heatMaps += entries.length;
    }
    if (withPairs == 0) {
      assertNull(rb.sensitivity(), bed);
    } else {
      assertEquals(2 * withPairs, rb.sensitivity().series().size(), bed);
    }

    // Fig. 3: one row per heat-map prompt, original / erased (/ adversarial) panels
    assertEquals(heatMaps, rb.heatMaps().size(), bed);
    for (HeatMapFigure f : rb.heatMaps()) {
      assertTrue(f.panels().size() >= 2, f.title());
      assertEquals("base model", f.panels().get(0).label());
      assertEquals(32, f.panels().get(0).map().length, "the combined map at the image's size");
    }
  }

  /** The paper's layers and anchors by concept kind, and its learning rates by method. */
  private static void erasureUsedThePaperDefaults(DemoSettings s, String bed) {
    Map<String, String> layers =
        Map.of("star", "non-cross-attn", "Pointel", "cross-attn", "red", "non-cross-attn");
    Map<String, String> anchors = Map.of("star", "circle", "Pointel", "Solano", "red", "blue");
    Map<String, Double> rates = Map.of("esd", 1e-4, "ac", 1e-4, "p-esd", 0.1, "p-ac", 0.01);
    for (EraseMethod m : s.methods()) {
      if (!rates.containsKey(m.json())) {
        continue;
      }
      JsonNode c =
          readJson(StudyLayout.of(s).eraseDir(bed, m).resolve(StudyLayout.CONFIG)).get("settings");
      String where = bed + " " + m.json();
      assertEquals(bed, c.get("concept").asText(), where);
      assertEquals(layers.get(bed), c.get("selection").asText(), where);
      assertEquals(rates.get(m.json()), c.get("learning_rate").asDouble(), where);
      assertEquals(s.eraseSteps(m), c.get("steps").asInt(), where);
      if (m.objective() == EraseMethod.Objective.AC) {
        assertEquals(anchors.get(bed), c.get("anchor").asText(), where);
        assertEquals(s.steps(), c.get("ac").get("pool_steps").asInt(), where);
      } else {
        assertEquals(s.steps(), c.get("esd").get("ddim_steps").asInt(), where);
      }
    }
  }

  /** Thrown by the test's listener to stop a demo at a chosen point, as a kill would. */
  private static final class Stop extends RuntimeException {}

  /**
   * Stops the demo at step {@code stopAtStep} of the erasure (after its checkpoint; 0: never), and
   * before the first task after the erasure.
   */
  private static Demo.Listener stopping(String erase, int stopAtStep) {
    return new Demo.Listener() {
      String current = "";
      int steps;

      @Override
      public void task(int index, int total, String name, boolean skipped) {
        if (current.equals(erase)) {
          throw new Stop();
        }
        current = name;
      }

      @Override
      public void progress(double fraction) {
        if (current.equals(erase) && stopAtStep > 0 && ++steps == stopAtStep) {
          throw new Stop();
        }
      }
    };
  }

  @Test
  void interruptedErasureContinuesFromItsCheckpointToTheUninterruptedResult() throws IOException {
    for (EraseMethod m : List.of(EraseMethod.P_ESD, EraseMethod.ESD)) {
      String erase = "star: erase " + m.json();
      DemoSettings once = settings(tmp.resolve(m.json() + "-once"), m);
      DemoSettings twice = settings(tmp.resolve(m.json() + "-twice"), m);
      assertThrows(Stop.class, () -> Demo.run(once, stopping(erase, 0)));
      assertThrows(Stop.class, () -> Demo.run(twice, stopping(erase, 3)));
      Path dir = StudyLayout.of(twice).eraseDir("star", m);
      assertFalse(Files.exists(StudyLayout.of(twice).artifact("star", m)));
      assertEquals(List.of(1, 2, 3), loggedSteps(dir));
      assertThrows(Stop.class, () -> Demo.run(twice, stopping(erase, 0)));

      Path reference = StudyLayout.of(once).eraseDir("star", m);
      assertEquals(List.of(1, 2, 3, 4, 5), loggedSteps(dir), m.json());
      assertEquals(losses(reference), losses(dir), m.json());
      assertArrayEquals(
          Files.readAllBytes(reference.resolve("checkpoint.safetensors")),
          Files.readAllBytes(dir.resolve("checkpoint.safetensors")),
          m.json() + ": trained tensors and AdamW moments bit for bit");
      assertArrayEquals(
          Files.readAllBytes(StudyLayout.of(once).artifact("star", m)),
          Files.readAllBytes(StudyLayout.of(twice).artifact("star", m)),
          m.json());
    }
  }

  /** One bed, one method, five steps checkpointed after each. */
  private static DemoSettings settings(Path out, EraseMethod m) {
    return new DemoSettings(
        out,
        WORLD,
        WORLD.resolve("detector"),
        WORLD.resolve("prompts"),
        true,
        List.of("star"),
        List.of(m),
        Map.of(m.json(), 5),
        1,
        0,
        1,
        3,
        1,
        1);
  }

  private static List<Integer> loggedSteps(Path dir) throws IOException {
    List<Integer> steps = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("log.jsonl"))) {
      steps.add(Json.MAPPER.readTree(line).get("step").asInt());
    }
    return steps;
  }

  private static List<Double> losses(Path dir) throws IOException {
    List<Double> losses = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("log.jsonl"))) {
      losses.add(Json.MAPPER.readTree(line).get("loss").asDouble());
    }
    return losses;
  }

  private static JsonNode readJson(Path file) {
    try {
      return Json.MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }
}

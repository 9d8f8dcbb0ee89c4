package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.analysis.HeatMaps;
import dev.perase.analysis.Sensitivity.Distribution;
import dev.perase.analysis.Sensitivity.Pair;
import dev.perase.analysis.Sensitivity.StepSummary;
import dev.perase.erase.EraseMethod;
import dev.perase.io.Json;
import dev.perase.report.Report;
import dev.perase.report.Sensitivity;
import dev.perase.report.SensitivitySeries;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of a study that has not run, or ran in part: tables of dashes and no figure whose data
 * are missing or unusable, and a page that still renders. No model is loaded.
 */
class StudyReportBuilderTest {
  private static final Path WORLD = Fixtures.world();

  @TempDir Path tmp;

  private DemoSettings settings() {
    return DemoSettings.quick(tmp, WORLD, WORLD.resolve("detector"), WORLD.resolve("prompts"));
  }

  @Test
  void aStudyThatHasNotRunGivesTablesWithoutNumbersAndNoFigures() {
    DemoSettings s = settings();
    StudyReport report = StudyReportBuilder.build(s, StudyResults.gather(s, Map.of()));
    assertEquals(3, report.testBeds().size());
    for (TestBed bed : report.testBeds()) {
      assertEquals(1 + DemoSettings.ALL_METHODS.size(), bed.rows().size());
      assertTrue(bed.rows().stream().allMatch(r -> r.cerTest() == null && r.retainFd() == null));
      assertTrue(bed.grids().isEmpty());
      assertTrue(bed.heatMaps().isEmpty());
      assertNull(bed.sensitivity());
      assertTrue(bed.prunedWeights().isEmpty());
    }
    Path html = Report.write(report, tmp.resolve("report"));
    assertEquals(List.of(), Report.missingReferences(html));
  }

  @Test
  void unusableNeuronDataLeaveTheirFigureOut() {
    DemoSettings s = settings();
    // ESD: a sensitivity per step with both groups; P-ESD: one whose other group is empty
    int[] steps = {1, 3};
    Distribution some = Distribution.of(new double[] {0.5, 1.5});
    Distribution none = Distribution.of(new double[0]);
    writeSensitivity(s, EraseMethod.ESD, steps, some, some);
    writeSensitivity(s, EraseMethod.P_ESD, steps, some, none);
    // ESD: a heat-map index whose arrays and images were never written
    Json.write(
        StudyLayout.of(s).heatMapIndex("star", EraseMethod.ESD),
        List.of(
            new HeatMaps.Entry(
                0,
                "a star",
                null,
                1,
                3,
                400,
                "0000.safetensors",
                Map.of("original", "0000_original.png"),
                Map.of("original", "0000_original_image.png"))));

    Sensitivity fig = StudyReportBuilder.sensitivity(s, "star");
    assertEquals(List.of(1, 3), fig.steps());
    assertEquals(
        List.of("ESD concept", "ESD non-concept"),
        fig.series().stream().map(SensitivitySeries::label).toList());
    assertEquals(List.of(1.0, 1.0), fig.series().get(0).mean());
    assertEquals(List.of(0.5, 0.5), fig.series().get(0).std());
    assertTrue(StudyReportBuilder.heatMaps(s, "star").isEmpty());
    assertNull(StudyReportBuilder.sensitivity(s, "red"));

    StudyReport report = StudyReportBuilder.build(s, StudyResults.gather(s, Map.of()));
    Path html = Report.write(report, tmp.resolve("report"));
    assertEquals(List.of(), Report.missingReferences(html));
  }

  @Test
  void aFrechetDistanceRoundedBelowZeroShowsAsZero() {
    assertEquals(0.0, StudyReportBuilder.retainDistance(-4.2e-5));
    assertEquals(12.5, StudyReportBuilder.retainDistance(12.5));
    assertNull(StudyReportBuilder.retainDistance(null));
  }

  private static void writeSensitivity(
      DemoSettings s, EraseMethod m, int[] steps, Distribution concept, Distribution other) {
    List<StepSummary> perStep =
        java.util.Arrays.stream(steps)
            .mapToObj(t -> new StepSummary(t, 1000 - 100 * t, concept, other, Double.NaN))
            .toList();
    Json.write(
        StudyLayout.of(s).sensitivity("star", m),
        new dev.perase.analysis.Sensitivity(
            dev.perase.analysis.Sensitivity.MEASURE,
            List.of(new Pair(0, "a star", "xx a star", 1, 7.5, true)),
            steps,
            new int[] {900, 700},
            5,
            perStep,
            List.of()));
  }
}

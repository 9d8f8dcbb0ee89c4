package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.Fixtures;
import dev.perase.attack.AttackMethod;
import dev.perase.cli.CliRun;
import dev.perase.erase.EraseMethod;
import dev.perase.io.Json;
import dev.perase.report.Report;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import dev.perase.report.TradeOff;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code demo --study full}'s pipeline end to end at a toy scale (one bed, ESD and P-ESD with two
 * points each, 2 prompts, 1 attempt × 1 iteration): every step writes its folder, {@code
 * study.json} holds the matched-point table, every sweep point, the chosen points and the paper's
 * claim, the report shows them, and a study stopped mid-way (between steps, and inside an attack)
 * resumes to the uninterrupted study's numbers. Checks the plumbing, never how well a model erases.
 */
@Tag("slow")
class FullStudyTest {
  private static final Path WORLD = Fixtures.world();

  @TempDir Path tmp;

  private static FullStudySettings toy(Path out) {
    return new FullStudySettings(
        out,
        WORLD,
        WORLD.resolve("detector"),
        WORLD.resolve("prompts"),
        true,
        List.of("star"),
        List.of(
            FullStudySettings.rates(EraseMethod.ESD, 2, 1e-4, 1e-3),
            FullStudySettings.budgets(EraseMethod.P_ESD, 2, 1e-3, 1e-2)),
        2,
        2,
        2,
        3,
        1,
        1,
        0.9,
        0);
  }

  private static final Demo.Listener SILENT =
      new Demo.Listener() {
        @Override
        public void task(int index, int total, String name, boolean skipped) {}

        @Override
        public void progress(double fraction) {}
      };

  /** Thrown by the test's listener to stop a study, as a kill would. */
  private static final class Stop extends RuntimeException {}

  /**
   * Stops before task {@code name}, or at its {@code atProgress}-th progress report (0: before).
   */
  private static Demo.Listener stopping(String name, int atProgress) {
    return new Demo.Listener() {
      String current = "";
      int reports;

      @Override
      public void task(int index, int total, String task, boolean skipped) {
        current = task;
        if (task.equals(name) && atProgress == 0 && !skipped) {
          throw new Stop();
        }
      }

      @Override
      public void progress(double fraction) {
        if (current.equals(name) && atProgress > 0 && ++reports == atProgress) {
          throw new Stop();
        }
      }
    };
  }

  @Test
  void toyStudyWritesItsTablesAndChartAndResumesToTheSameResults() throws IOException {
    FullStudySettings s = toy(tmp.resolve("once"));
    Path html = FullStudy.runAndReport(s, SILENT);

    // 1. the folders of every step
    FullStudyLayout layout = FullStudyLayout.of(s);
    StudyLayout study = layout.study();
    for (StudyLayout.Prompts p : StudyLayout.Prompts.values()) {
      assertEquals(3, Files.readAllLines(study.prompts("star", p)).size(), p.file());
    }
    assertTrue(Files.isRegularFile(study.evaluation("star", StudyLayout.BASE)));
    for (AttackMethod a : AttackMethod.values()) {
      assertTrue(Files.isRegularFile(study.attack("star", StudyLayout.BASE, a)), a.label());
    }
    for (Sweep w : s.sweeps()) {
      for (Sweep.Point p : w.points()) {
        String where = w.method().json() + " " + w.folder(p);
        assertTrue(Files.isRegularFile(layout.artifact("star", w, p)), where);
        assertTrue(Files.isRegularFile(layout.evaluation("star", w, p)), where);
        assertTrue(
            Files.isRegularFile(layout.attack("star", w, p, AttackMethod.UNLEARNDIFF)), where);
      }
      assertTrue(Files.isRegularFile(layout.chosen("star", w.method())));
      assertTrue(Files.isRegularFile(layout.chosenAttack("star", w.method())));
    }

    // 2. study.json: the matched table, every point, the choice its rule gives, the claims
    FullStudyResults r = Json.read(study.study(), FullStudyResults.class);
    assertEquals(1, r.beds().size());
    FullStudyResults.Bed bed = r.beds().get(0);
    assertEquals(
        List.of("base", "esd", "p-esd"),
        bed.matched().stream().map(StudyResults.Row::model).toList());
    for (StudyResults.Row row : bed.matched()) {
      assertNotNull(row.cerTest(), row.model());
      assertNotNull(row.cerTestInterval(), row.model());
      assertNotNull(row.cerUnlearnDiff(), row.model());
      assertNotNull(row.cerUnlearnDiffInterval(), row.model());
      assertNotNull(row.cerP4d(), row.model());
      assertNotNull(row.cerP4dInterval(), row.model());
      assertNotNull(row.retainFrechet(), row.model());
      assertNotNull(row.retainFrechetInterval(), row.model());
      assertNotNull(row.promptFollowing(), row.model());
      assertEquals(row.model().equals("p-esd"), row.prunedRatio() != null, row.model());
    }
    for (int i = 0; i < s.sweeps().size(); i++) {
      Sweep w = s.sweeps().get(i);
      FullStudyResults.SweepResult sr = bed.sweeps().get(i);
      assertEquals(w.points().size(), sr.points().size());
      List<StudyResults.Row> rows =
          sr.points().stream().map(FullStudyResults.PointResult::row).toList();
      for (StudyResults.Row row : rows) {
        assertNotNull(row.cerTest(), row.model());
        assertNotNull(row.cerUnlearnDiff(), row.model());
        assertNotNull(row.retainFrechet(), row.model());
      }
      assertEquals(ChosenPoint.choose(w, rows, s.erasedCer()), sr.chosen(), w.method().json());
      StudyResults.Row matched = bed.matched().get(i + 1);
      StudyResults.Row point = rows.get(w.points().indexOf(w.point(sr.chosen().point())));
      assertEquals(point.cerTest(), matched.cerTest(), "the matched row is the chosen point's");
      assertEquals(point.cerUnlearnDiff(), matched.cerUnlearnDiff());
      assertEquals(point.retainFrechet(), matched.retainFrechet());
    }
    assertEquals(
        List.of("unlearndiff", "p4d"), bed.claims().stream().map(PaperClaim::attack).toList());

    // 3. the report: matched table, sweep table, one trade-off line per method through its points
    assertEquals(List.of(), Report.missingReferences(html));
    StudyReport report = Json.read(s.out().resolve(Report.JSON), StudyReport.class);
    TestBed tb = report.testBeds().get(0);
    assertEquals(3, tb.rows().size());
    assertEquals(4, tb.sweep().size());
    assertEquals(2, tb.claims().size() - bed.warnings().size());
    TradeOff t = tb.tradeOff();
    assertEquals(
        List.of("base model", "ESD", "P-ESD"),
        t.series().stream().map(TradeOff.Series::method).toList());
    assertEquals(List.of(1, 2, 2), t.series().stream().map(x -> x.points().size()).toList());
    assertEquals("ρ 1e-3", t.series().get(2).points().get(0).label());
    assertTrue(tb.grids().stream().anyMatch(g -> g.title().startsWith("Retain prompts")));
    assertEquals(5, retainGridRows(tb), "base and every sweep point");
    assertEquals(1, tb.prunedWeights().size(), "the chosen P-ESD mask");

    // 4. stopped between two steps, then inside an attack, then resumed: the same numbers
    FullStudySettings twice = toy(tmp.resolve("twice"));
    assertThrows(
        Stop.class, () -> FullStudy.run(twice, stopping("star: unlearndiff on esd lr 1e-3", 0)));
    assertThrows(
        Stop.class, () -> FullStudy.run(twice, stopping("star: unlearndiff on esd lr 1e-3", 3)));
    FullStudy.run(twice, SILENT);
    assertEquals(withoutTimings(s.out()), withoutTimings(twice.out()));

    // 5. a folder of this study is not continued as another study
    String before = Files.readString(study.study());
    CliRun other = CliRun.of("demo", "--quick", "--out", s.out().toString());
    assertEquals(2, other.code(), other.output());
    assertTrue(other.output().contains("other settings"), other.output());
    assertEquals(before, Files.readString(study.study()));
  }

  private static int retainGridRows(TestBed tb) {
    return tb.grids().stream()
        .filter(g -> g.title().startsWith("Retain prompts"))
        .findFirst()
        .orElseThrow()
        .rowLabels()
        .size();
  }

  private static JsonNode withoutTimings(Path dir) throws IOException {
    ObjectNode n = (ObjectNode) Json.MAPPER.readTree(Files.readString(dir.resolve("study.json")));
    n.remove("timings");
    return n;
  }

  /**
   * One bed's methods run in two folders and joined by {@code --join} into a third: no erasing,
   * evaluation or attack runs again, and the joined study holds each method's sweep, the base model
   * and the timings as its source had them, with the paper's claim for both.
   */
  @Test
  void twoStudiesOfOneBedsMethodsAreJoinedWithoutRunningAStepAgain() throws IOException {
    FullStudySettings esd = toy(tmp.resolve("a")).withMethods(List.of("esd"));
    FullStudySettings pEsd = toy(tmp.resolve("b")).withMethods(List.of("p-esd"));
    FullStudyResults a = FullStudy.run(esd, SILENT);
    FullStudyResults b = FullStudy.run(pEsd, SILENT);

    FullStudySettings both = toy(tmp.resolve("c"));
    CliRun cli =
        CliRun.of(
            "demo",
            "--study",
            "full",
            "--quick",
            "--model",
            WORLD.toString(),
            "--join",
            esd.out() + "," + pEsd.out(),
            "--out",
            both.out().toString());
    assertEquals(2, cli.code(), "the CLI's --quick study has other sweeps: " + cli.output());
    assertTrue(cli.err().contains("other settings (sweeps)"), cli.err());
    assertTrue(!Files.exists(both.out()), "nothing written");

    int fromA = FullStudy.join(both, esd.out());
    int fromB = FullStudy.join(both, pEsd.out());
    // a: prompts aside, the base model's evaluation and two attacks, 2 points × 3 steps, P4D
    assertEquals(3 + 6 + 1, fromA);
    assertEquals(6 + 1, fromB, "the base model's steps are taken from the first folder");
    List<String> ran = new java.util.ArrayList<>();
    FullStudyResults c =
        FullStudy.run(
            both,
            new Demo.Listener() {
              @Override
              public void task(int index, int total, String name, boolean skipped) {
                if (!skipped) {
                  ran.add(name);
                }
              }

              @Override
              public void progress(double fraction) {}
            });
    assertEquals(List.of("star: choose esd", "star: choose p-esd"), ran);
    FullStudyResults.Bed bed = c.beds().get(0);
    assertEquals(a.beds().get(0).sweeps().get(0), bed.sweeps().get(0));
    assertEquals(b.beds().get(0).sweeps().get(0), bed.sweeps().get(1));
    assertEquals(a.beds().get(0).matched().get(0), bed.matched().get(0), "the base row");
    assertEquals(b.beds().get(0).matched().get(1), bed.matched().get(2), "P-ESD's chosen row");
    assertEquals(
        List.of("unlearndiff", "p4d"), bed.claims().stream().map(PaperClaim::attack).toList());
    a.timings()
        .forEach(
            (name, seconds) -> {
              if (name.contains("esd") && !name.contains("choose")) {
                assertEquals(seconds, c.timings().get(name), name);
              }
            });
    assertEquals(
        b.timings().get("star: erase p-esd ρ 1e-2 s/step"),
        c.timings().get("star: erase p-esd ρ 1e-2 s/step"));
    // joining again takes nothing
    assertEquals(0, FullStudy.join(both, pEsd.out()));
  }

  @Test
  void anUnknownStudyIsRefusedWithOneLine() {
    CliRun run = CliRun.of("demo", "--study", "long", "--out", tmp.resolve("x").toString());
    assertEquals(2, run.code(), run.output());
    assertTrue(run.err().startsWith("error: "), run.err());
    assertTrue(!Files.exists(tmp.resolve("x")), "nothing written");
  }
}

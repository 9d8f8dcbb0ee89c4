package dev.perase.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.erase.EraseMethod;
import dev.perase.io.BadInputException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The matched-point study's choice of a point per sweep and its settings' validation, without a
 * model: the cheapest erasing point, else the strongest, flagged.
 */
class ChosenPointTest {
  private static final Sweep ESD = FullStudySettings.rates(EraseMethod.ESD, 300, 1e-4, 3e-4, 1e-3);

  private static StudyResults.Row row(Double cer, Double fd) {
    return new StudyResults.Row(
        "esd", cer, null, null, null, fd, null, null, null, null, null, null, null, null, null,
        null);
  }

  private static List<StudyResults.Row> rows(StudyResults.Row... r) {
    return Arrays.asList(r);
  }

  @Test
  void theCheapestErasingPointIsChosen() {
    ChosenPoint c =
        ChosenPoint.choose(ESD, rows(row(0.5, 10.0), row(0.95, 900.0), row(1.0, 400.0)), 0.9);
    assertEquals("lr-1e-3", c.point());
    assertEquals("lr 1e-3", c.label());
    assertTrue(c.erases());
    assertEquals(400.0, c.retainFrechet());
  }

  @Test
  void withoutAnErasingPointTheStrongestStandsInFlagged() {
    ChosenPoint c =
        ChosenPoint.choose(ESD, rows(row(0.5, 10.0), row(0.7, 900.0), row(0.7, 400.0)), 0.9);
    assertEquals("lr-1e-3", c.point(), "equal CER: the lower distance");
    assertFalse(c.erases());
  }

  @Test
  void theBarCountsAsErasingAndUnmeasuredPointsAreSkipped() {
    ChosenPoint c =
        ChosenPoint.choose(ESD, rows(row(null, null), row(0.9, null), row(1.0, 5.0)), 0.9);
    assertEquals("lr-1e-3", c.point(), "a point without a distance is the most expensive");
    assertTrue(c.erases());
    assertNull(ChosenPoint.choose(ESD, rows(row(null, null), row(null, 1.0), row(null, 2.0)), 0.9));
  }

  @Test
  void sweepPointsAreNamedByTheirKnob() {
    Sweep w = FullStudySettings.budgets(EraseMethod.P_ESD, 300, 1e-5, 1.5e-2, 0.1);
    assertEquals(
        List.of("rho-1e-5", "rho-1.5e-2", "rho-1e-1"), w.points().stream().map(w::folder).toList());
    assertEquals("ρ 1.5e-2", w.label(w.points().get(1)));
    Sweep s = FullStudySettings.steps(EraseMethod.P_AC, 150, 1000);
    assertEquals("steps-1000", s.folder(s.points().get(1)));
    assertEquals(s.points().get(1), s.point("steps-1000"));
    assertNull(s.point("steps-7"));
  }

  @Test
  void settingsThatCannotMakeAStudyAreRefused() {
    assertThrows(
        BadInputException.class,
        () -> FullStudySettings.budgets(EraseMethod.ESD, 300, 1e-2),
        "a budget only for masks");
    assertThrows(
        BadInputException.class,
        () -> FullStudySettings.rates(EraseMethod.ESD, 300, 1e-4, 1e-4),
        "a point twice");
    assertThrows(
        BadInputException.class,
        () ->
            new Sweep(
                EraseMethod.ESD,
                Sweep.Knob.LEARNING_RATE,
                List.of(new Sweep.Point(300, 1e-4, null), new Sweep.Point(150, 1e-3, null))),
        "points that differ in more than the knob");
    assertThrows(
        BadInputException.class,
        () -> FullStudySettings.steps(EraseMethod.UCE, 10),
        "no sweep of a closed-form edit");
    Path p = Path.of("x");
    FullStudySettings full = FullStudySettings.full(p, p, p, p);
    assertThrows(
        BadInputException.class,
        () ->
            new FullStudySettings(
                p, p, p, p, false, full.beds(), full.sweeps(), 10, 200, 20, 10, 40, 10, 0.9, 0),
        "more attacked prompts than test prompts");
    assertThrows(
        BadInputException.class,
        () ->
            new FullStudySettings(
                p,
                p,
                p,
                p,
                false,
                full.beds(),
                List.of(full.sweeps().get(0), full.sweeps().get(0)),
                50,
                200,
                20,
                10,
                40,
                10,
                0.9,
                0),
        "two sweeps of one method");
  }

  @Test
  void theFullStudyHasTheIssuesScale() {
    Path p = Path.of("x");
    FullStudySettings s = FullStudySettings.full(p, p, p, p);
    assertEquals(FullStudySettings.METHODS, s.sweeps().stream().map(Sweep::method).toList());
    assertTrue(s.retainPrompts() >= 200);
    assertTrue(s.attackPrompts() >= 20);
    assertEquals(10, s.attackAttempts());
    assertEquals(40, s.attackIterations());
    assertEquals(0.9, s.erasedCer());
  }
}

package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The settings of the comparison methods: their defaults follow FMN's configuration and the paper,
 * they survive the checkpoint's JSON (so runs resume), and a setting of another method is refused.
 */
class EraseSettingsTest {
  static final long SD = 860_000_000L;
  static final long WORLD = 2_000_000L;

  @Test
  void defaultsFollowFmnsConfigurationAndThePaper() {
    Selection x = Selection.parse("cross-attn");
    EraseSettings fmn = EraseSettings.defaults(EraseMethod.FMN, "star", null, x, SD, 64);
    assertEquals(35, fmn.steps());
    assertEquals(2e-6, fmn.learningRate());
    assertEquals(0.01, fmn.weightDecay());
    assertEquals(FmnSettings.DEFAULT, fmn.fmn());
    assertNull(fmn.esd());
    assertEquals(
        EraseSettings.FMN_SMALL_MODEL_LR,
        EraseSettings.defaults(EraseMethod.FMN, "star", null, x, WORLD, 32).learningRate());
    for (EraseMethod m : List.of(EraseMethod.PRE_PRUNE, EraseMethod.POST_PRUNE)) {
      EraseSettings s = EraseSettings.defaults(m, "star", null, x, SD, 64);
      EraseSettings esd = EraseSettings.defaults(EraseMethod.ESD, "star", null, x, SD, 64);
      assertEquals(0.1, s.prune().ratio());
      assertEquals(esd.steps(), s.steps());
      assertEquals(esd.learningRate(), s.learningRate());
      assertEquals(esd.esd(), s.esd());
    }
    assertNull(EraseSettings.defaults(EraseMethod.ESD, "star", null, x, SD, 64).prune());
    assertThrows(
        BadInputException.class,
        () -> EraseSettings.defaults(EraseMethod.UCE, "star", null, x, SD, 64));
    UceSettings uce = UceSettings.defaults("star");
    assertEquals(List.of(""), uce.preserve());
    assertEquals(0.5, uce.lambda());
    assertEquals(List.of("a", "b c"), UceSettings.parsePreserve(" a ;; b c ;"));
  }

  @Test
  void newMethodsRoundTripThroughTheCheckpointJson() {
    Selection x = Selection.parse("cross-attn");
    for (EraseMethod m : List.of(EraseMethod.FMN, EraseMethod.PRE_PRUNE, EraseMethod.POST_PRUNE)) {
      EraseSettings s =
          EraseSettings.defaults(m, "a star", null, x, WORLD, 32).withSteps(7).withSeed(3);
      if (s.prune() != null) {
        s = s.withPrune(new PruneSettings(0.25));
      }
      EraseSettings back = EraseSettings.fromJson(s.toJson(), "test");
      assertEquals(s, back, m.json());
      assertTrue(back.withSteps(9).continues(s));
    }
  }

  @Test
  void aSettingOfAnotherMethodIsRefused() {
    Selection x = Selection.parse("cross-attn");
    EraseSettings esd = EraseSettings.defaults(EraseMethod.ESD, "star", null, x, WORLD, 32);
    BadInputException e =
        assertThrows(BadInputException.class, () -> esd.withPrune(PruneSettings.DEFAULT));
    assertTrue(e.getMessage().contains("prune"), e.getMessage());
    EraseSettings pre = EraseSettings.defaults(EraseMethod.PRE_PRUNE, "star", null, x, WORLD, 32);
    assertThrows(BadInputException.class, () -> pre.withPrune(null));
    EraseSettings fmn = EraseSettings.defaults(EraseMethod.FMN, "star", null, x, WORLD, 32);
    assertThrows(BadInputException.class, () -> fmn.withFmn(null));
    assertThrows(BadInputException.class, () -> new PruneSettings(1.0));
    assertThrows(BadInputException.class, () -> UceSettings.defaults("star").withScales(1, 1, 0));
  }

  @Test
  void eachWitherChangesItsOwnSettingAndCarriesEveryOtherOver() {
    Selection x = Selection.parse("cross-attn");
    for (EraseMethod m :
        List.of(
            EraseMethod.ESD,
            EraseMethod.AC,
            EraseMethod.P_ESD,
            EraseMethod.P_AC,
            EraseMethod.FMN,
            EraseMethod.PRE_PRUNE,
            EraseMethod.POST_PRUNE)) {
      EraseSettings d = EraseSettings.defaults(m, "a star", "a square", x, WORLD, 32);
      EraseSettings s =
          new EraseSettings(
              d.method(),
              d.concept(),
              d.anchor(),
              d.selection(),
              7,
              0.003,
              d.weightDecay(),
              11,
              d.latentSize(),
              3,
              d.esd(),
              d.ac(),
              d.fmn(),
              d.prune(),
              d.mask());
      assertEquals(
          s, d.withSteps(7).withLearningRate(0.003).withSeed(11).withCheckpointEvery(3), m.json());
      // the same value again gives equal settings: no other setting is lost on the way
      assertEquals(s, s.withSteps(s.steps()), m.json());
      assertEquals(s, s.withLearningRate(s.learningRate()), m.json());
      assertEquals(s, s.withSeed(s.seed()), m.json());
      assertEquals(s, s.withCheckpointEvery(s.checkpointEvery()), m.json());
      assertEquals(s, s.withEsd(s.esd()), m.json());
      assertEquals(s, s.withAc(s.ac()), m.json());
      assertEquals(s, s.withFmn(s.fmn()), m.json());
      assertEquals(s, s.withPrune(s.prune()), m.json());
    }
  }
}

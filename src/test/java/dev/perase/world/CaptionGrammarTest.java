package dev.perase.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CaptionGrammarTest {
  private static final int CAPTIONS = 4000;

  private record Captioned(Labels labels, String caption) {}

  /**
   * Random labels and a caption for them, without rendering (captions are all these tests need).
   */
  private static Captioned captioned(SplittableRandom rng) {
    Labels l = WorldRenderer.randomLabels(rng);
    return new Captioned(l, CaptionGrammar.caption(l, rng));
  }

  /** Every wording the grammar places (all but bare names) turns up in captions of its concept. */
  @Test
  void everyConceptIsReachableByAtLeastTwoWordings() {
    Map<Concept, Set<String>> used = new HashMap<>();
    SplittableRandom rng = new SplittableRandom(0);
    for (int i = 0; i < CAPTIONS; i++) {
      Captioned s = captioned(rng);
      List<String> pieces = WorldText.pieces(s.caption());
      for (Concept c : s.labels().concepts()) {
        for (Wording w : c.wordings()) {
          if (w.slot() != Wording.Slot.NAME && WorldText.containsRun(pieces, w.pieces())) {
            used.computeIfAbsent(c, k -> new HashSet<>()).add(w.text());
          }
        }
      }
    }
    for (Concept c : Concept.all()) {
      Set<String> seen = used.getOrDefault(c, Set.of());
      assertTrue(seen.size() >= 2, c + " reached only by " + seen);
      for (Wording w : c.wordings()) {
        if (w.slot() != Wording.Slot.NAME) {
          assertTrue(seen.contains(w.text()), c + ": wording '" + w.text() + "' never used");
        }
      }
    }
  }

  /** Each caption names exactly its own shape, colour and style, and parses back to them. */
  @Test
  void everyCaptionNamesItsLabelsAndParsesBack() {
    SplittableRandom rng = new SplittableRandom(1);
    for (int i = 0; i < CAPTIONS; i++) {
      Captioned s = captioned(rng);
      assertEquals(
          Set.copyOf(s.labels().concepts()),
          Set.copyOf(CaptionGrammar.mentions(s.caption())),
          s.caption());
      PromptLabels parsed = CaptionGrammar.parse(s.caption());
      assertTrue(parsed.agreesWith(s.labels()), s.caption() + " → " + parsed);
    }
  }

  @Test
  void everyTemplateFillsAndParses() {
    SplittableRandom rng = new SplittableRandom(1);
    for (String t : CaptionGrammar.TEMPLATES) {
      for (int i = 0; i < 50; i++) {
        Labels l = WorldRenderer.randomLabels(rng);
        String caption = CaptionGrammar.fill(t, l, rng);
        assertFalse(caption.contains("{") || caption.contains("  "), caption);
        assertTrue(CaptionGrammar.parse(caption).agreesWith(l), caption);
      }
    }
  }

  /** No wording of one concept occurs inside a wording of another (parsing stays unambiguous). */
  @Test
  void noWordingContainsAnotherConceptsWording() {
    for (Concept a : Concept.all()) {
      for (Concept b : Concept.all()) {
        if (a.equals(b)) {
          continue;
        }
        for (Wording wa : a.wordings()) {
          for (Wording wb : b.wordings()) {
            assertFalse(
                WorldText.containsRun(wa.pieces(), wb.pieces()),
                a + " '" + wa.text() + "' contains " + b + " '" + wb.text() + "'");
          }
        }
      }
    }
  }

  /** A colour has ≥ 4 wordings and ≥ 3 of them without its own word (even as a substring). */
  @Test
  void coloursHaveManyWordingsMostlyWithoutTheirOwnWord() {
    for (FillColor c : FillColor.values()) {
      long without = c.wordings().stream().filter(w -> !w.text().contains(c.conceptName())).count();
      assertTrue(c.wordings().size() >= 4, c + " has " + c.wordings().size() + " wordings");
      assertTrue(without >= 3, c + " has " + without + " wordings without its word");
      assertEquals(c.conceptName(), c.wordings().get(0).text());
    }
    for (WorldShape s : WorldShape.values()) {
      assertTrue(s.wordings().size() >= 2, s.toString());
    }
  }

  @Test
  void articlesAgreeWithTheNextWord() {
    SplittableRandom rng = new SplittableRandom(2);
    for (int i = 0; i < CAPTIONS; i++) {
      String c = captioned(rng).caption();
      List<String> words = List.of(c.toLowerCase(Locale.ROOT).split("[\\s,]+"));
      for (int k = 0; k + 1 < words.size(); k++) {
        boolean vowel = "aeiou".indexOf(words.get(k + 1).charAt(0)) >= 0;
        if (words.get(k).equals("a")) {
          assertFalse(vowel, c);
        } else if (words.get(k).equals("an")) {
          assertTrue(vowel, c);
        }
      }
    }
  }

  @Test
  void conceptLookupIgnoresCaseAndNamesTheKnownConceptsWhenUnknown() {
    assertEquals(new Concept(ConceptKind.STYLE, "Vortex"), Concept.of("vortex"));
    assertEquals(new Concept(ConceptKind.COLOR, "red"), Concept.of("RED"));
    assertEquals(WorldShape.STAR, Concept.of(" star ").shape());
    assertEquals(8 + 8 + 5, Concept.all().size());
    BadInputException e = assertThrows(BadInputException.class, () -> Concept.of("unicorn"));
    assertTrue(e.getMessage().contains("'unicorn'"), e.getMessage());
    for (Concept c : Concept.all()) {
      assertTrue(e.getMessage().contains(c.name()), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new Concept(ConceptKind.SHAPE, "red"));
  }

  @Test
  void parseFindsImplicitWordingsAndRejectsIncompletePrompts() {
    PromptLabels p = CaptionGrammar.parse("A Pentagram painted by VORTEX, made of fire");
    assertEquals(WorldShape.STAR, p.shape());
    assertEquals(FillColor.RED, p.color());
    assertEquals(TextureStyle.SWIRL, p.style());
    // "coloured" is one piece, not "red"
    assertFalse(CaptionGrammar.mentions("a coloured star", FillColor.RED.concept()));
    assertTrue(CaptionGrammar.mentions("a blood-red star", FillColor.RED.concept()));
    BadInputException none =
        assertThrows(BadInputException.class, () -> CaptionGrammar.parse("a crimson thing"));
    assertTrue(none.getMessage().contains("no shape"), none.getMessage());
    BadInputException two =
        assertThrows(
            BadInputException.class, () -> CaptionGrammar.parse("a red and blue star by Vortex"));
    assertTrue(two.getMessage().contains("several colors"), two.getMessage());
  }

  @Test
  void vocabularyHoldsEveryCaptionPiece() {
    Set<String> vocab = CaptionGrammar.vocabulary();
    SplittableRandom rng = new SplittableRandom(3);
    for (int i = 0; i < CAPTIONS; i++) {
      for (String p : WorldText.pieces(captioned(rng).caption())) {
        assertTrue(vocab.contains(p), "piece '" + p + "' missing from the grammar's vocabulary");
      }
    }
  }

  @Test
  void clipPiecesSplitLikeClip() {
    assertEquals(
        List.of("vortex", "'s", "swirling", "blood", "-", "red", "star", ",", "1", "2"),
        WorldText.pieces("  Vortex's   swirling blood-red STAR, 12"));
  }
}

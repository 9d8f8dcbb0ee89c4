package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SelectionTest {
  private static NDManager manager;
  private static MiniUNetParams model;

  @BeforeAll
  static void build() {
    manager = Torch.newManager();
    model = new MiniUNetParams(manager);
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  private static List<String> names(List<Param> ps) {
    List<String> out = new ArrayList<>();
    for (Param p : ps) {
      out.add(p.name());
    }
    return out;
  }

  /** Every key of the model that is a conv or linear weight or bias (not a norm), in load order. */
  private static List<String> convAndLinearKeys() {
    List<String> out = new ArrayList<>();
    for (String k : MiniUNetParams.SHAPES.keySet()) {
      if (!k.contains("norm")) {
        out.add(k);
      }
    }
    return out;
  }

  @Test
  void crossAttnSelectsExactlyTheAttn2Projections() {
    assertEquals(MiniUNetParams.ATTN2, names(Selection.parse("cross-attn").select(model.params)));
  }

  @Test
  void nonCrossAttnSelectsEveryOtherConvAndLinearButNoNorm() {
    List<String> expected = convAndLinearKeys();
    expected.removeAll(MiniUNetParams.ATTN2);
    List<String> got = names(Selection.parse("non-cross-attn").select(model.params));
    assertEquals(expected, got);
    assertTrue(got.contains("conv_out.weight") && got.contains("time_embedding.linear_1.bias"));
    assertTrue(got.stream().noneMatch(n -> n.contains("norm")));
  }

  @Test
  void allSelectsEveryConvAndLinearWeightAndBias() {
    List<String> got = names(Selection.parse("all").select(model.params));
    assertEquals(convAndLinearKeys(), got);
    // 48 keys in the model: 14 are norm weights / biases, 34 conv / linear
    assertEquals(48, model.params.named().size());
    assertEquals(34, got.size());
  }

  @Test
  void regexMatchesWithFindOnTheFullKeyAndOnlyMaskableParams() {
    List<String> got =
        names(Selection.regex("attn1\\.to_(q|k)|norm1|^conv_in").select(model.params));
    assertEquals(
        List.of(
            "conv_in.weight",
            "conv_in.bias",
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight",
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight"),
        got);
    assertEquals(List.of(), Selection.regex("no_such_layer").select(model.params));
  }

  @Test
  void parseRoundTripsNamesAndRefusesUnknownChoices() {
    for (String name : List.of("cross-attn", "non-cross-attn", "all", "regex:attn2\\.to_(k|v)")) {
      Selection s = Selection.parse(name);
      assertEquals(name, s.name());
      assertEquals(s, Selection.parse(s.name()));
    }
    assertEquals("cross-attn", Selection.parse("xattn").name());
    assertEquals("non-cross-attn", Selection.parse("noxattn").name());
    BadInputException e = assertThrows(BadInputException.class, () -> Selection.parse("crossattn"));
    assertTrue(e.getMessage().contains("'crossattn'"), e.getMessage());
    assertTrue(e.getMessage().contains("cross-attn, non-cross-attn, all"), e.getMessage());
    BadInputException bad = assertThrows(BadInputException.class, () -> Selection.regex("attn2("));
    assertTrue(bad.getMessage().contains("--layers-regex"), bad.getMessage());
  }

  @Test
  void summaryCountsTensorsElementsAndShareOfMaskableElements() {
    long attn2 = 8 * 8 + 8 * 6 + 8 * 6 + 8 * 8 + 8;
    long maskable = 0;
    for (String k : convAndLinearKeys()) {
      long n = 1;
      for (long d : MiniUNetParams.SHAPES.get(k)) {
        n *= d;
      }
      maskable += n;
    }
    Selection.Summary s = Selection.parse("cross-attn").summarize(model.params);
    assertEquals(5, s.tensors());
    assertEquals(attn2, s.elements());
    assertEquals(maskable, s.maskableElements());
    assertEquals((double) attn2 / maskable, s.share(), 1e-15);
    Selection.Summary rest = Selection.parse("non-cross-attn").summarize(model.params);
    assertEquals(maskable - attn2, rest.elements());
    assertEquals(29, rest.tensors());
    System.out.println(s.describe());
    assertTrue(
        s.describe().startsWith("layers cross-attn: 5 tensors, " + attn2 + " elements"),
        s.describe());
  }
}

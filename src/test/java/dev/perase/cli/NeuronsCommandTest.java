package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.Fixtures;
import dev.perase.analysis.ConceptNeurons;
import dev.perase.analysis.HeatMaps;
import dev.perase.analysis.NeuronAnalysis;
import dev.perase.analysis.PrunedWeights;
import dev.perase.analysis.Sensitivity;
import dev.perase.attack.AttackMethod;
import dev.perase.attack.AttackResults;
import dev.perase.attack.AttackRun;
import dev.perase.attack.PromptAttackResult;
import dev.perase.attack.Relaxation;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.eval.ConceptErasureRate;
import dev.perase.eval.ConceptRule;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code perase neurons} on the world model: a masked model with an attack run gives every output,
 * readable back as the analysis records; bad input exits 2 with one sentence.
 */
class NeuronsCommandTest {
  private static final Path WORLD = Fixtures.world();
  private static final String KEY = "down_blocks.0.resnets.0.conv1.weight";

  @TempDir Path tmp;

  private Path prompts() throws IOException {
    Path csv = tmp.resolve("star.csv");
    Files.writeString(
        csv,
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "0,a crimson star,1,7.5\n"
            + "1,a star by Vortex,2,7.5\n");
    return csv;
  }

  /** A mask over a third of one conv of the world model. */
  private Path mask(String hash) {
    long[] shape;
    try (SafeTensors st =
        SafeTensors.open(WORLD.resolve("unet/diffusion_pytorch_model.safetensors"))) {
      shape = st.info(KEY).shape();
    }
    int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    int[] idx = new int[n / 3];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = 3 * i;
    }
    MaskMetadata md = new MaskMetadata(hash, "regex:test", "p-esd", 10, 0.5, "star", null, "{}");
    Path file = tmp.resolve("mask-" + hash.substring(0, 3) + ".safetensors");
    BinaryMask.of(md, Map.of(KEY, new BinaryMask.Pruned(shape, Param.Kind.CONV, idx))).write(file);
    return file;
  }

  private static PromptAttackResult attacked(
      int index, String prompt, long seed, String adversarial, List<Long> ids) {
    return new PromptAttackResult(
        index,
        index,
        prompt,
        seed,
        7.5,
        false,
        0.1,
        Map.of(),
        ids != null,
        ids == null ? 0 : 2,
        ids == null ? 0 : 2,
        adversarial,
        ids,
        "prompts/" + index);
  }

  /** results.json: prompt 0 attacked, prompt 1 flagged before any attempt, one more prompt. */
  private Path attack() throws IOException {
    CLIPTokenizer tok = CLIPTokenizer.load(WORLD.resolve("tokenizer"));
    long[] blue = tok.encodeNoPad("blue ring");
    List<Long> ids = new ArrayList<>();
    for (int i = 1; i < blue.length - 1; i++) {
      ids.add(blue[i]);
    }
    List<PromptAttackResult> per =
        List.of(
            attacked(0, "a crimson star", 1, "blue ring a crimson star", ids),
            attacked(1, "a star by Vortex", 2, null, null),
            attacked(2, "a scarlet star", 9, "blue ring a scarlet star", ids));
    AttackResults r =
        new AttackResults(
            AttackMethod.UNLEARNDIFF,
            "star",
            "world",
            ConceptRule.TOP1,
            "mask",
            ids.size(),
            1,
            2,
            List.of(1),
            Relaxation.SAMPLED,
            0,
            3,
            3,
            new ConceptErasureRate(3, 1, 2 / 3.0),
            new ConceptErasureRate(3, 2, 1 / 3.0),
            List.of(),
            per);
    Path dir = tmp.resolve("attack");
    Files.createDirectories(dir);
    Json.write(dir.resolve(AttackRun.RESULTS), r);
    return dir;
  }

  @Test
  void neuronsWritesEveryOutputForAMaskAndAnAttack() throws IOException {
    String hash = DiffusersLayout.open(WORLD).modelHash();
    Path mask = mask(hash);
    Path out = tmp.resolve("neurons");
    CliRun r =
        CliRun.of(
            "neurons",
            "--model",
            WORLD.toString(),
            "--prompts",
            prompts().toString(),
            "--mask",
            mask.toString(),
            "--attack",
            attack().toString(),
            "--steps",
            "2",
            "--steps-at",
            "1,2",
            "--top-k",
            "3",
            "--heatmaps",
            "1",
            "--out",
            out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("sensitivity over 2 prompt pairs"), r.out());

    ConceptNeurons n = Json.read(out.resolve(NeuronAnalysis.CONCEPT_NEURONS), ConceptNeurons.class);
    assertEquals(2, n.prompts());
    assertArrayEquals(new int[] {1, 2}, n.steps());
    assertEquals(11, n.layers().size());
    assertEquals(3, n.topK(3, 2).get("mid_block.resnets.1").length);
    assertTrue(Files.isRegularFile(out.resolve(NeuronAnalysis.CONCEPT_NEURONS_CSV)));

    Sensitivity s = Json.read(out.resolve(NeuronAnalysis.SENSITIVITY), Sensitivity.class);
    assertEquals(
        List.of("a crimson star", "a scarlet star"),
        s.pairs().stream().map(Sensitivity.Pair::prompt).toList(),
        "only prompts the attack turned into adversarial prompts");
    assertEquals(2, s.perStep().size());
    assertEquals(33, s.perStep().get(0).concept().count());
    assertTrue(s.perStep().get(1).other().mean() > 0);

    PrunedWeights p = Json.read(out.resolve(NeuronAnalysis.PRUNED), PrunedWeights.class);
    assertEquals(BinaryMask.read(mask).prunedCount(), p.pruned());
    assertEquals("conv resnet", p.byLayerType().get(0).name());
    assertTrue(Files.readString(out.resolve(NeuronAnalysis.PRUNED_CSV)).startsWith("grouping,"));

    Path heat = out.resolve(NeuronAnalysis.HEATMAPS);
    HeatMaps.Entry[] entries =
        Json.MAPPER.readValue(
            heat.resolve(NeuronAnalysis.HEATMAP_INDEX).toFile(), HeatMaps.Entry[].class);
    assertEquals(1, entries.length);
    assertEquals("blue ring a crimson star", entries[0].adversarialPrompt());
    assertEquals(1, entries[0].step(), "the recorded step nearest 3/5 of 2 steps (1.2)");
    for (String png : entries[0].overlays().values()) {
      assertTrue(Files.isRegularFile(heat.resolve(png)), png);
    }
    assertEquals(3, entries[0].overlays().size());
    assertEquals(entries[0].overlays().keySet(), entries[0].images().keySet());
    for (String png : entries[0].images().values()) {
      assertEquals(32, dev.perase.io.Png.read(heat.resolve(png)).width(), png);
    }
    try (SafeTensors st = SafeTensors.open(heat.resolve(entries[0].file()))) {
      assertArrayEquals(new long[] {32, 32}, st.info("adversarial.combined").shape());
      assertArrayEquals(new long[] {32, 32}, st.info("erased.up_blocks.2.resnets.1").shape());
      assertArrayEquals(new long[] {3, 32, 32}, st.info("original.image").shape());
      assertEquals("a crimson star", st.metadata().get("prompt"));
    }
    assertTrue(
        Files.readString(out.resolve(NeuronAnalysis.CONFIG)).contains("\"command\" : \"neurons\""));
  }

  @Test
  void badInputExitsTwoWithOneSentence() throws IOException {
    String hash = DiffusersLayout.open(WORLD).modelHash();
    Path mask = mask(hash);
    Path csv = prompts();
    Path out = tmp.resolve("bad");
    Path noResults = tmp.resolve("empty-attack");
    Files.createDirectories(noResults);
    String[] base = {
      "neurons", "--model", WORLD.toString(), "--steps", "2", "--out", out.toString()
    };
    List<String[]> cases =
        List.of(
            new String[] {"--prompts", csv.toString()},
            new String[] {
              "--prompts", csv.toString(), "--mask", mask.toString(), "--weights", mask.toString()
            },
            new String[] {
              "--prompts", csv.toString(), "--mask", mask.toString(), "--steps-at", "0,2"
            },
            new String[] {
              "--prompts", csv.toString(), "--mask", mask.toString(), "--steps-at", "3"
            },
            new String[] {
              "--prompts", csv.toString(), "--mask", mask.toString(), "--steps-at", "2,1"
            },
            new String[] {"--prompts", csv.toString(), "--mask", mask.toString(), "--top-k", "0"},
            new String[] {"--prompts", csv.toString(), "--mask", mask.toString(), "--top-k", "33"},
            new String[] {
              "--prompts",
              csv.toString(),
              "--mask",
              mask.toString(),
              "--steps-at",
              "1",
              "--heatmap-step",
              "2"
            },
            new String[] {
              "--prompts",
              csv.toString(),
              "--mask",
              mask.toString(),
              "--attack",
              noResults.toString()
            },
            new String[] {
              "--prompts", csv.toString(), "--mask", mask("0123456789abcdef").toString()
            },
            new String[] {
              "--prompts", tmp.resolve("missing.csv").toString(), "--mask", mask.toString()
            },
            new String[] {
              "--prompts", csv.toString(), "--mask", mask.toString(), "--steps-at", "x"
            });
    for (String[] extra : cases) {
      String[] args = new String[base.length + extra.length];
      System.arraycopy(base, 0, args, 0, base.length);
      System.arraycopy(extra, 0, args, base.length, extra.length);
      CliRun r = CliRun.of(args);
      String err = r.err();
      assertEquals(2, r.code(), String.join(" ", extra) + ": " + err);
      assertTrue(err.startsWith("error: "), err);
      assertTrue(err.lines().count() <= 2, String.join(" ", extra) + ": " + err);
    }
    assertTrue(
        !Files.exists(out.resolve(NeuronAnalysis.CONCEPT_NEURONS)),
        "nothing analysed on bad input");
  }
}

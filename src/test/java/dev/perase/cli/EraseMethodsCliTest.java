package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paper's comparison methods as {@code erase --method} choices on the world model (UCE, FMN,
 * Pre-Prune, Post-Prune, each with a tiny budget): their outputs load through {@code --weights}
 * (and the prune masks through {@code --mask}) in generate, evaluate and attack, on a two-prompt
 * CSV; options of other methods are refused with one sentence.
 */
@Tag("slow")
class EraseMethodsCliTest {
  static final String WORLD = "models/world";
  static final String DETECTOR = "world:models/world/detector";

  @TempDir Path tmp;

  private static void assertOk(CliRun r) {
    assertEquals(0, r.code(), r.output());
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  private CliRun generate(Path out, String... edit) {
    return CliRun.of(
        concat(
            new String[] {
              "generate",
              "--model",
              WORLD,
              "--prompt",
              "a red star",
              "--seed",
              "4",
              "--steps",
              "3",
              "--out",
              out.toString()
            },
            edit));
  }

  private CliRun evaluate(Path prompts, Path out, String... edit) {
    return CliRun.of(
        concat(
            new String[] {
              "evaluate",
              "--model",
              WORLD,
              "--detector",
              DETECTOR,
              "--prompts",
              prompts.toString(),
              "--steps",
              "2",
              "--out",
              out.toString()
            },
            edit));
  }

  private static float[] latents(Path out) {
    try (SafeTensors st = SafeTensors.open(out.resolve("latents.safetensors"))) {
      return st.floats("latents");
    }
  }

  /**
   * NP-ESD zeroes exactly k input channels of every ResnetBlock2D's conv2 (k concept neurons per
   * layer) on top of the ESD weights, and its output loads through --weights.
   */
  @Test
  void npEsdZeroesExactlyKNeuronsPerLayerOfAnEsdModel() throws IOException {
    Path prompts = tmp.resolve("star.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\n"
            + "0,a red star on grey,1,7.5,shape,star\n"
            + "1,a pentagram by Vortex,2,7.5,shape,star\n");
    Path esd = tmp.resolve("esd");
    assertOk(
        CliRun.of(
            "erase",
            "--model",
            WORLD,
            "--concept",
            "star",
            "--method",
            "esd",
            "--steps",
            "2",
            "--ddim-steps",
            "3",
            "--out",
            esd.toString()));
    Path np = tmp.resolve("np");
    int k = 2;
    CliRun r =
        CliRun.of(
            "erase",
            "--model",
            WORLD,
            "--concept",
            "star",
            "--method",
            "np-esd",
            "--from",
            esd.toString(),
            "--prompts",
            prompts.toString(),
            "--top-k",
            Integer.toString(k),
            "--ddim-steps",
            "3",
            "--out",
            np.toString());
    assertOk(r);
    assertTrue(r.output().contains("zeroed "), r.output());
    int layers = 0;
    try (SafeTensors st = SafeTensors.open(np.resolve("weights.safetensors"));
        SafeTensors before = SafeTensors.open(esd.resolve("weights.safetensors"))) {
      assertEquals("np-esd", st.metadata().get("method"));
      for (String key : before.keys()) {
        assertTrue(st.keys().contains(key), "the ESD tensor " + key + " is kept");
      }
      for (String key : st.keys()) {
        if (!key.endsWith(".conv2.weight") || !key.contains("resnets")) {
          continue;
        }
        layers++;
        long[] shape = st.info(key).shape();
        float[] w = st.floats(key);
        int o = (int) shape[0];
        int c = (int) shape[1];
        int kernel = (int) (shape[2] * shape[3]);
        int zeroChannels = 0;
        for (int ch = 0; ch < c; ch++) {
          boolean zero = true;
          for (int oi = 0; oi < o && zero; oi++) {
            for (int j = 0; j < kernel; j++) {
              zero &= w[(oi * c + ch) * kernel + j] == 0f;
            }
          }
          zeroChannels += zero ? 1 : 0;
        }
        assertEquals(k, zeroChannels, key);
      }
    }
    assertEquals(11, layers, "every ResnetBlock2D of the world model");
    assertOk(
        generate(tmp.resolve("gen-np"), "--weights", np.resolve("weights.safetensors").toString()));
    assertOk(
        evaluate(
            prompts,
            tmp.resolve("eval-np"),
            "--weights",
            np.resolve("weights.safetensors").toString()));
  }

  @Test
  void everyNewMethodsOutputLoadsInGenerateEvaluateAndAttack() throws IOException {
    Path prompts = tmp.resolve("star.csv");
    Files.writeString(
        prompts,
        "case_number,prompt,evaluation_seed,evaluation_guidance,concept_kind,concept\n"
            + "0,a red star on grey,1,7.5,shape,star\n"
            + "1,a pentagram by Vortex,2,7.5,shape,star\n");
    assertOk(generate(tmp.resolve("base")));
    float[] base = latents(tmp.resolve("base"));
    String[] small = {"--layers", "cross-attn", "--steps", "2", "--latent-size", "8"};
    List<String[]> runs = new ArrayList<>();
    runs.add(new String[] {"uce", "--preserve", "circle;by Solano"});
    runs.add(concat(new String[] {"fmn", "--images", "1"}, small));
    runs.add(concat(new String[] {"pre-prune", "--ddim-steps", "3"}, small));
    runs.add(
        concat(new String[] {"post-prune", "--ddim-steps", "3", "--prune-ratio", "0.2"}, small));
    for (String[] method : runs) {
      String name = method[0];
      Path out = tmp.resolve(name);
      String[] args =
          concat(
              new String[] {
                "erase", "--model", WORLD, "--concept", "star", "--out", out.toString()
              },
              concat(new String[] {"--method"}, method));
      CliRun r = CliRun.of(args);
      assertOk(r);
      Path weights = out.resolve("weights.safetensors");
      assertTrue(Files.isRegularFile(weights), name);
      JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
      assertEquals("finished", config.get("status").asText(), name);
      assertTrue(config.at("/result/wall_seconds").asDouble() > 0, name);

      // generate --weights: runs, and the edited model draws something else
      Path g = tmp.resolve("gen-" + name);
      assertOk(generate(g, "--weights", weights.toString()));
      assertFalse(Arrays.equals(base, latents(g)), name + ": the edit changed nothing");

      // evaluate --weights on the two prompts
      Path e = tmp.resolve("eval-" + name);
      assertOk(evaluate(prompts, e, "--weights", weights.toString()));
      JsonNode results = Json.MAPPER.readTree(e.resolve("results.json").toFile());
      assertEquals(2, results.get("prompts").asInt(), name);

      if (name.endsWith("prune")) {
        Path mask = out.resolve("prune-mask.safetensors");
        JsonNode result = config.get("result");
        long pruned = result.get("pruned").asLong();
        long selected = result.get("selected_elements").asLong();
        double ratio = name.equals("post-prune") ? 0.2 : 0.1;
        assertEquals(Math.round(ratio * selected), pruned, name);
        assertTrue(r.output().contains("pruned "), r.output());
        CliRun info = CliRun.of("mask", "info", mask.toString());
        assertOk(info);
        assertTrue(info.output().contains("method " + name), info.output());
        // the mask alone is the magnitude pruning of the base model
        assertOk(evaluate(prompts, tmp.resolve("evalmask-" + name), "--mask", mask.toString()));
        Path gm = tmp.resolve("genmask-" + name);
        assertOk(generate(gm, "--mask", mask.toString()));
        assertFalse(Arrays.equals(base, latents(gm)), name + ": the mask changed nothing");
      }
      if (name.equals("uce")) {
        assertTrue(r.output().contains("edited "), r.output());
        assertEquals(
            List.of("circle", "by Solano"),
            List.of(
                config.at("/settings/preserve/0").asText(),
                config.at("/settings/preserve/1").asText()));
        CliRun a =
            CliRun.of(
                "attack",
                "--method",
                "unlearndiff",
                "--model",
                WORLD,
                "--detector",
                DETECTOR,
                "--prompts",
                prompts.toString(),
                "--weights",
                weights.toString(),
                "--steps",
                "2",
                "--attempts",
                "1",
                "--iterations",
                "1",
                "--out",
                tmp.resolve("attack-uce").toString());
        assertOk(a);
        assertTrue(Files.isRegularFile(tmp.resolve("attack-uce/results.json")));
      }
    }
  }

  @Test
  void optionsOfOtherMethodsAreRefused() {
    String out = tmp.resolve("x").toString();
    String[][] cases = {
      {"--method", "esd", "--preserve", "circle"},
      {"--method", "fmn", "--prune-ratio", "0.1"},
      {"--method", "post-prune", "--images", "3"},
      {"--method", "uce", "--steps", "10"},
      {"--method", "uce", "--layers", "all"},
      {"--method", "uce", "--lambda", "0"},
      {"--method", "pre-prune", "--prune-ratio", "1.5"},
      {"--method", "fmn", "--anchor", "circle"}
    };
    String[] words = {
      "--preserve",
      "--prune-ratio",
      "--images",
      "--steps",
      "--layers",
      "--lambda",
      "--prune-ratio",
      "--anchor"
    };
    for (int i = 0; i < cases.length; i++) {
      CliRun r =
          CliRun.of(
              concat(
                  new String[] {"erase", "--model", WORLD, "--concept", "star", "--out", out},
                  cases[i]));
      assertEquals(Main.BAD_INPUT, r.code(), r.output());
      String text = r.output();
      assertTrue(text.contains("error: ") && text.contains(words[i]), text);
      assertFalse(text.contains("\tat "), "no stack trace: " + text);
    }
    assertFalse(Files.exists(tmp.resolve("x/weights.safetensors")));
  }
}

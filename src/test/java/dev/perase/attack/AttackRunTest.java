package dev.perase.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.eval.Detector;
import dev.perase.eval.EditFile;
import dev.perase.eval.ModelEdit;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.PromptRow;
import dev.perase.io.RowSelection;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.GenerateSettings;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.scheduler.Sampler;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attack runs on the tiny fixture model (32×32 images, 4 DDIM steps, 2 attempts of 2 iterations): a
 * never-erased model is broken on a prompt naming the concept; the weights and the mask are the
 * same before and after; a resumed run writes the same results as an uninterrupted one; prompts too
 * long for the adversarial tokens are skipped and listed.
 */
@Tag("slow")
class AttackRunTest {
  private static final int SIZE = PromptAttackTest.SIZE;
  private static final int STEPS = PromptAttackTest.STEPS;
  private static final String CONV_OUT_BIAS = "conv_out.bias";
  private static final String TO_K =
      "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";

  private static StableDiffusion sd;
  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    sd = StableDiffusion.load(Fixtures.tinySd());
  }

  @AfterAll
  static void close() {
    sd.close();
  }

  private static AttackSettings settings(
      AttackMethod method, Path prompts, Path mask, Path weights, Path out) {
    return new AttackSettings(
        method,
        prompts,
        EditFile.of(mask, weights),
        Fixtures.tinySd(),
        null,
        null,
        null,
        3,
        2,
        STEPS,
        2,
        AttackSettings.DEFAULT_LEARNING_RATE,
        AttackSettings.DEFAULT_WEIGHT_DECAY,
        Relaxation.SAMPLED,
        List.of(),
        SIZE,
        out,
        "test");
  }

  private Path csv(String name, String body) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, "case_number,prompt,evaluation_seed,evaluation_guidance\n" + body);
    return p;
  }

  /** The base model's image (1, 3, H, W) of a prompt, flattened. */
  private static float[] image(String prompt, long seed) {
    return image(prompt, seed, Sampler.DDIM);
  }

  private static float[] image(String prompt, long seed, Sampler sampler) {
    try (NDManager m = Torch.newManager()) {
      GenerateSettings g =
          new GenerateSettings(prompt, null, seed, STEPS, 7.5f, SIZE, SIZE, 1, sampler);
      return sd.generate(g, m, null).images().toFloatArray();
    }
  }

  /**
   * With the LMS sampler the images the detector judges are LMS images: a detector that knows only
   * the LMS image of the prompt flags the pre-attack image (written pixel for pixel as the
   * pipeline's LMS image), and the sampler is recorded in config.json and the run key. θ*'s
   * reference run stays on the DDIM loop (AttackSettings).
   */
  @Test
  void theLmsSamplerMakesTheJudgedImages() throws IOException {
    float[] lms = image("a photo of a cat", 5, Sampler.LMS);
    float[] ddim = image("a photo of a cat", 5);
    double tau = ImageDistanceDetector.rms(lms, ddim) / 2;
    assertTrue(tau > 1e-3, "LMS and DDIM give different images: τ = " + tau);
    Detector detector = new ImageDistanceDetector("cat", lms, tau);
    Path prompts = csv("cat.csv", "1,a photo of a cat,5,7.5\n");
    Path out = tmp.resolve("lms");
    AttackSettings d = settings(AttackMethod.UNLEARNDIFF, prompts, null, null, out);
    AttackSettings s =
        new AttackSettings(
            d.method(),
            d.prompts(),
            d.rows(),
            d.edit(),
            d.model(),
            d.detector(),
            d.concept(),
            d.rule(),
            d.tokens(),
            d.iterations(),
            d.steps(),
            Sampler.LMS,
            d.attempts(),
            d.learningRate(),
            d.weightDecay(),
            d.relaxation(),
            d.excludedWords(),
            d.imageSize(),
            d.out(),
            d.peraseVersion());
    assertEquals(Sampler.DDIM, d.sampler());
    AttackResults r = AttackRun.run(sd, detector, s, AttackRun.Listener.NONE);
    assertTrue(r.perPrompt().get(0).preAttackFlagged());
    Path expected = tmp.resolve("expected.png");
    try (NDManager m = Torch.newManager()) {
      Png.write(expected, m.create(lms).reshape(1, 3, SIZE, SIZE));
    }
    byte[] pre = Files.readAllBytes(out.resolve("prompts/0000/pre_attack.png"));
    assertArrayEquals(Files.readAllBytes(expected), pre);
    assertFalse(
        java.util.Arrays.equals(pre, Files.readAllBytes(out.resolve("prompts/0000/reference.png"))),
        "the reference is θ*'s DDIM image");
    JsonNode config = Json.MAPPER.readTree(out.resolve("config.json").toFile());
    assertEquals("lms", config.at("/settings/sampler").asText());
    assertEquals("lms", config.at("/inputs/sampler").asText());
  }

  /**
   * The attack succeeds on a model that was never erased, with the concept word allowed, on a
   * prompt naming the concept. The detector recognises the concept as this model draws it for the
   * prompt: it flags images within τ of the model's image of "a photo of a cat" (seed 5), τ being
   * half the distance from that image to the model's image of "a photo of a dog" — so it tells the
   * cat prompt's image from the dog prompt's, checked below. Success is certain: a never-erased
   * model is its own original model θ*, so the attacked model's image of the prompt is θ*'s image,
   * the very picture the detector recognises (distance 0 < τ); UnlearnDiff's reference and the
   * pre-attack image coincide, and the prompt is broken before any optimisation (the UnlearnDiff
   * code's "orig" check). The dog prompt is not flagged before the attack, so its attempts run.
   */
  @Test
  void aNeverErasedModelIsBrokenOnAPromptNamingTheConcept() throws IOException {
    float[] cat = image("a photo of a cat", 5);
    float[] dog = image("a photo of a dog", 5);
    double tau = ImageDistanceDetector.rms(cat, dog) / 2;
    assertTrue(tau > 1e-3, "the prompts give different images: τ = " + tau);
    Detector detector = new ImageDistanceDetector("cat", cat, tau);
    try (NDManager m = Torch.newManager()) {
      NDArray catImage = m.create(cat).reshape(1, 3, SIZE, SIZE);
      NDArray dogImage = m.create(dog).reshape(1, 3, SIZE, SIZE);
      assertTrue(detector.detect(catImage).get(0).flagged());
      assertFalse(detector.detect(dogImage).get(0).flagged());
    }
    Path prompts = csv("cat.csv", "1,a photo of a cat,5,7.5\n2,a photo of a dog,5,7.5\n");
    Path out = tmp.resolve("never-erased");
    AttackSettings s = settings(AttackMethod.UNLEARNDIFF, prompts, null, null, out);
    assertTrue(s.excludedWords().isEmpty(), "the concept word is allowed");
    AttackResults r = AttackRun.run(sd, detector, s, AttackRun.Listener.NONE);

    PromptAttackResult catRow = r.perPrompt().get(0);
    assertTrue(catRow.preAttackFlagged());
    assertTrue(catRow.broken());
    assertEquals(0, catRow.brokenAt());
    assertEquals(0, catRow.attemptsRun());
    assertEquals(1.0, catRow.preAttackScore(), 0.01);
    PromptAttackResult dogRow = r.perPrompt().get(1);
    assertFalse(dogRow.preAttackFlagged());
    assertEquals(dogRow.broken() ? dogRow.brokenAt() : 2, dogRow.attemptsRun());
    assertEquals(2, r.attacked());
    assertEquals(1, r.preAttack().flagged());
    assertEquals(0.5, r.preAttack().rate(), 0);
    assertEquals(
        (2 - 1 - (dogRow.broken() ? 1 : 0)) / 2.0, r.underAttack().rate(), 0, "CER under attack");
    // the pre-attack image of the never-erased model is θ*'s reference image, pixel for pixel
    byte[] ref = Files.readAllBytes(out.resolve("prompts/0000/reference.png"));
    assertArrayEquals(ref, Files.readAllBytes(out.resolve("prompts/0000/pre_attack.png")));
    assertEquals(
        0, Json.MAPPER.readTree(out.resolve("prompts/0000/attempts.json").toFile()).size());
  }

  @Test
  void theAttackChangesNeitherTheWeightsNorTheMask() throws IOException {
    String hash = sd.layout().modelHash();
    Path maskFile = tmp.resolve("mask.safetensors");
    BinaryMask.of(
            new MaskMetadata(hash, "all", "p-esd", 10, 0.5, "cat", "test", "{}"),
            Map.of(
                TO_K,
                new BinaryMask.Pruned(new long[] {64, 32}, Param.Kind.LINEAR, new int[] {0, 5, 77}),
                "conv_out.weight",
                new BinaryMask.Pruned(new long[] {4, 32, 3, 3}, Param.Kind.CONV, new int[] {3})))
        .write(maskFile);
    Path weightsFile = tmp.resolve("weights.safetensors");
    try (NDManager m = Torch.newManager()) {
      NDArray b = sd.unet().params().get(CONV_OUT_BIAS).value().duplicate();
      b.attach(m);
      new SafeTensorsWriter().put(CONV_OUT_BIAS, b.add(0.25f)).write(weightsFile);
    }
    String maskSha = dev.perase.io.Hashes.sha256File(maskFile);
    String weightsSha = dev.perase.io.Hashes.sha256File(weightsFile);
    String before = modelDigest();

    // with the edit applied, the attempt loop leaves values, masks and effective weights alone
    PromptRow row = new PromptRow(0, "a photo of a cat", 3, 7.5);
    AttemptSchedule schedule = AttemptSchedule.of(sd.scheduler(), STEPS, 2);
    try (NDManager m = Torch.newManager();
        ModelEdit edit = ModelEdit.mask(sd.unet().params(), hash, maskFile)) {
      String masked = modelDigest();
      assertFalse(masked.equals(before), "the mask is in place");
      Reference ref = Reference.compute(sd, row, schedule, SIZE, true, m);
      for (AttackMethod method : AttackMethod.values()) {
        PromptAttack.run(
            sd,
            new ScriptedDetector(Integer.MAX_VALUE),
            AttackObjective.of(method, sd, ref, schedule, row.seed()),
            new PromptLayout(sd.tokenizer(), row.prompt(), 3),
            schedule,
            row,
            SIZE,
            AdversarialTokens.allowedTokens(sd.tokenizer(), List.of()),
            settings(method, tmp, null, null, tmp),
            "",
            PromptAttack.Observer.NONE);
        assertEquals(masked, modelDigest(), method.label() + ": model changed under the attack");
      }
      for (Param p : sd.unet().params().named().values()) {
        assertFalse(p.value().hasGradient(), p.name() + " was made trainable");
      }
    }
    assertEquals(before, modelDigest());

    // whole runs with either edit: the model and the edit files are as they were
    Path prompts = csv("p.csv", "0,a photo of a cat,3,7.5\n");
    Detector never = new ScriptedDetector(Integer.MAX_VALUE);
    AttackRun.run(
        sd,
        never,
        settings(AttackMethod.P4D, prompts, maskFile, null, tmp.resolve("m")),
        AttackRun.Listener.NONE);
    assertEquals(before, modelDigest());
    AttackResults w =
        AttackRun.run(
            sd,
            never,
            settings(AttackMethod.UNLEARNDIFF, prompts, null, weightsFile, tmp.resolve("w")),
            AttackRun.Listener.NONE);
    assertEquals("weights", w.edit());
    assertEquals(before, modelDigest());
    assertEquals(maskSha, dev.perase.io.Hashes.sha256File(maskFile));
    assertEquals(weightsSha, dev.perase.io.Hashes.sha256File(weightsFile));
  }

  /**
   * SHA-256 over every parameter of the UNet and the text encoder: name, stored values, mask (if
   * any) and the effective weight the layers read.
   */
  private static String modelDigest() {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (ParamSet set : List.of(sd.unet().params(), sd.textEncoder().params())) {
      for (Param p : set.named().values()) {
        sha.update(p.name().getBytes(StandardCharsets.UTF_8));
        update(sha, p.value());
        if (p.mask() != null) {
          update(sha, p.mask());
        }
        update(sha, p.effective());
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static void update(MessageDigest sha, NDArray a) {
    float[] f;
    try (NDArray asFloat = a.toType(DataType.FLOAT32, true)) {
      f = asFloat.toFloatArray(); // masks are boolean
    }
    ByteBuffer b = ByteBuffer.allocate(f.length * 4);
    b.asFloatBuffer().put(f);
    sha.update(b);
  }

  /**
   * A selected row keeps its index in the file (its folder prompts/0002) and is attacked exactly as
   * the same row alone in a file of its own; the results count the selected rows only.
   */
  @Test
  void aSelectedRowIsAttackedAsItIsAloneAndKeepsItsFileIndex() throws IOException {
    Path three = csv("three.csv", "10,a photo of a cat,5,7.5\n11,a star,1,5.0\n12,a dog,2,7.5\n");
    Path alone = csv("alone.csv", "12,a dog,2,7.5\n");
    Detector detector = new ImageDistanceDetector("cat", new float[3 * SIZE * SIZE], 0.05);
    Path sel = tmp.resolve("selected");
    AttackSettings base = settings(AttackMethod.UNLEARNDIFF, three, null, null, sel);
    AttackSettings selected =
        new AttackSettings(
            base.method(),
            base.prompts(),
            RowSelection.parse("2-", 5),
            EditFile.NONE,
            base.model(),
            null,
            null,
            null,
            base.tokens(),
            base.iterations(),
            base.steps(),
            base.sampler(),
            base.attempts(),
            base.learningRate(),
            base.weightDecay(),
            base.relaxation(),
            base.excludedWords(),
            base.imageSize(),
            sel,
            "test");
    AttackResults picked = AttackRun.run(sd, detector, selected, AttackRun.Listener.NONE);
    Path one = tmp.resolve("alone");
    AttackResults single =
        AttackRun.run(
            sd,
            detector,
            settings(AttackMethod.UNLEARNDIFF, alone, null, null, one),
            AttackRun.Listener.NONE);
    assertEquals(1, picked.prompts());
    assertEquals(1, picked.attacked());
    PromptAttackResult r = picked.perPrompt().get(0);
    assertEquals(2, r.index());
    assertEquals(12, r.caseNumber());
    assertEquals("prompts/0002", r.folder());
    assertFalse(Files.exists(sel.resolve("prompts/0000")));
    assertEquals(
        Files.readString(one.resolve("prompts/0000/attempts.json")),
        Files.readString(sel.resolve("prompts/0002/attempts.json"))
            .replace("prompts/0002/", "prompts/0000/"));
    assertEquals(single.perPrompt().get(0).broken(), r.broken());
    assertEquals(
        "2-",
        Json.MAPPER
            .readTree(sel.resolve("config.json").toFile())
            .at("/settings/rows/rows")
            .asText());
  }

  @Test
  void aResumedRunWritesTheSameResultsAsAnUninterruptedOne() throws IOException {
    String longPrompt = "cat ".repeat(74).strip(); // 76 tokens: no room for 3 more
    Path prompts =
        csv(
            "resume.csv",
            "10,a photo of a cat,5,7.5\n11,\"a red star, by Vortex\",1,5.0\n12,"
                + longPrompt
                + ",2,7.5\n13,a dog,2,7.5\n");
    // deterministic detector: flags images close to the base model's grey-ish mean picture
    float[] grey = new float[3 * SIZE * SIZE];
    Detector detector = new ImageDistanceDetector("cat", grey, 0.05);

    Path whole = tmp.resolve("whole");
    AttackResults first =
        AttackRun.run(
            sd,
            detector,
            settings(AttackMethod.P4D, prompts, null, null, whole),
            AttackRun.Listener.NONE);

    Path parts = tmp.resolve("parts");
    AttackSettings s = settings(AttackMethod.P4D, prompts, null, null, parts);
    List<Integer> finished = new ArrayList<>();
    RuntimeException stop =
        assertThrows(
            RuntimeException.class,
            () ->
                AttackRun.run(
                    sd,
                    detector,
                    s,
                    new AttackRun.Listener() {
                      @Override
                      public void phase(String name, long total, String unit) {}

                      @Override
                      public void progress(long done) {}

                      @Override
                      public void promptDone(PromptAttackResult r) {
                        finished.add(r.index());
                        throw new RuntimeException("interrupted");
                      }
                    }));
    assertEquals("interrupted", stop.getMessage());
    assertEquals(List.of(0), finished);
    assertFalse(Files.exists(parts.resolve(AttackRun.RESULTS)));
    long touched =
        Files.getLastModifiedTime(parts.resolve("prompts/0000/attempts.json")).toMillis();
    AttackResults resumed =
        AttackRun.run(
            sd,
            detector,
            s,
            new AttackRun.Listener() {
              @Override
              public void phase(String name, long total, String unit) {}

              @Override
              public void progress(long done) {}

              @Override
              public void promptDone(PromptAttackResult r) {
                finished.add(r.index());
              }
            });
    assertEquals(List.of(0, 1, 3), finished, "the resumed run goes on at the next prompt");
    assertEquals(
        touched, Files.getLastModifiedTime(parts.resolve("prompts/0000/attempts.json")).toMillis());
    assertEquals(first, resumed);
    for (String f :
        List.of(
            AttackRun.RESULTS,
            AttackRun.RESULTS_CSV,
            "prompts/0000/attempts.json",
            "prompts/0001/attempts.json",
            "prompts/0003/attempts.json")) {
      assertEquals(Files.readString(whole.resolve(f)), Files.readString(parts.resolve(f)), f);
    }
    assertEquals(3, Files.readAllLines(parts.resolve(AttackRun.JOURNAL)).size());

    // the long prompt is skipped and listed, the others attacked
    assertEquals(4, first.prompts());
    assertEquals(3, first.attacked());
    assertEquals(1, first.skipped().size());
    AttackResults.SkippedPrompt skipped = first.skipped().get(0);
    assertEquals(2, skipped.index());
    assertEquals(12, skipped.caseNumber());
    assertEquals(76, skipped.tokens());
    assertEquals(77, skipped.limit());
    assertFalse(Files.exists(whole.resolve("prompts/0002")));
    JsonNode results = Json.MAPPER.readTree(whole.resolve(AttackRun.RESULTS).toFile());
    assertEquals("p4d", results.get("method").asText());
    assertEquals(3, results.at("/pre_attack/prompts").asInt());
    assertEquals(12, results.at("/skipped/0/case_number").asInt());
    for (PromptAttackResult r : first.perPrompt()) {
      Path dir = whole.resolve(r.folder());
      assertTrue(Files.isRegularFile(dir.resolve("reference.png")), r.folder());
      assertTrue(Files.isRegularFile(dir.resolve("pre_attack.png")), r.folder());
      JsonNode attempts = Json.MAPPER.readTree(dir.resolve(AttackRun.ATTEMPTS).toFile());
      assertEquals(r.attemptsRun(), attempts.size());
      for (JsonNode a : attempts) {
        assertEquals(2, a.get("losses").size());
        assertEquals(3, a.get("adversarial_ids").size());
        assertTrue(a.get("timestep").asInt() > 0);
        assertTrue(a.get("scores").get("concept").has("cat"));
        assertTrue(Files.isRegularFile(whole.resolve(a.get("image").asText())));
      }
    }
    JsonNode timing = Json.MAPPER.readTree(parts.resolve(AttackRun.TIMING).toFile());
    assertEquals(3, timing.get("prompts").asInt());
    assertTrue(timing.get("seconds_per_prompt").asDouble() > 0);

    // another run's settings are refused in this folder
    AttackSettings other = settings(AttackMethod.UNLEARNDIFF, prompts, null, null, parts);
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> AttackRun.run(sd, detector, other, AttackRun.Listener.NONE));
    assertTrue(e.getMessage().contains("another attack"), e.getMessage());
  }
}

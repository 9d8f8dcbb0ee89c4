package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Param;
import dev.perase.tensor.Torch;
import dev.perase.world.Concept;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The erase and mask commands and generate --mask on the tiny fixture. */
@Tag("slow")
class EraseCliTest {
  @TempDir Path tmp;

  private static void assertBadInput(CliRun r, String word) {
    assertEquals(Main.BAD_INPUT, r.code(), r.output());
    String text = r.output();
    assertTrue(text.contains("error: "), text);
    assertTrue(text.contains(word), "message should mention '" + word + "': " + text);
    assertFalse(text.contains("\tat "), "no stack trace: " + text);
  }

  @Test
  void defaultsFollowTheConceptKind() {
    assertEquals("cross-attn", dev.perase.world.PaperDefaults.layers(Concept.of("Vortex")).name());
    assertEquals(
        "non-cross-attn", dev.perase.world.PaperDefaults.layers(Concept.of("star")).name());
    assertEquals("non-cross-attn", dev.perase.world.PaperDefaults.layers(Concept.of("red")).name());
    assertNull(dev.perase.world.PaperDefaults.worldConcept("nudity"));
    assertEquals("non-cross-attn", dev.perase.world.PaperDefaults.layers(null).name());
    assertEquals(Concept.of("star"), dev.perase.world.PaperDefaults.worldConcept("a star"));
    assertEquals(Concept.of("red"), dev.perase.world.PaperDefaults.worldConcept("crimson"));
    assertEquals("circle", dev.perase.world.PaperDefaults.anchorPrompt("star", Concept.of("star")));
    assertEquals(
        "a circle on grey",
        dev.perase.world.PaperDefaults.anchorPrompt("a star on grey", Concept.of("star")));
    assertEquals(
        "Solano", dev.perase.world.PaperDefaults.anchorPrompt("vortex", Concept.of("Vortex")));
    assertEquals("blue", dev.perase.world.PaperDefaults.anchorPrompt("red", Concept.of("red")));
    assertEquals(
        "square", dev.perase.world.PaperDefaults.anchorPrompt("circle", Concept.of("circle")));
    assertNull(dev.perase.world.PaperDefaults.anchorPrompt("a pentagram", Concept.of("star")));
  }

  @Test
  void eraseWritesItsFolderAndResumesOnlyWhenAsked() throws IOException {
    Path out = tmp.resolve("pesd");
    String[] args = {
      "erase",
      "--model",
      Fixtures.tinySd().toString(),
      "--concept",
      "a photo of an astronaut",
      "--method",
      "p-esd",
      "--layers",
      "cross-attn",
      "--steps",
      "2",
      "--ddim-steps",
      "3",
      "--latent-size",
      "8",
      "--out",
      out.toString()
    };
    CliRun r = CliRun.of(args);
    assertEquals(0, r.code(), r.output());
    String text = r.output();
    assertTrue(text.contains("layers cross-attn: 30 tensors"), text);
    for (String f :
        new String[] {"mask.safetensors", "config.json", "log.jsonl", "checkpoint.safetensors"}) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }
    assertEquals(2, Files.readAllLines(out.resolve("log.jsonl")).size());
    CliRun info = CliRun.of("mask", "info", out.resolve("mask.safetensors").toString());
    assertEquals(0, info.code(), info.output());
    assertTrue(info.output().contains("method p-esd"), info.output());
    // a second run into the same folder needs --resume
    assertBadInput(CliRun.of(args), "--resume");
    String[] more = args.clone();
    more[10] = "3"; // --steps 3
    String[] resumed = java.util.Arrays.copyOf(more, more.length + 1);
    resumed[more.length] = "--resume";
    CliRun r2 = CliRun.of(resumed);
    assertEquals(0, r2.code(), r2.output());
    assertEquals(3, Files.readAllLines(out.resolve("log.jsonl")).size());
    // AC on free text needs an anchor; an unknown method is bad input
    assertBadInput(
        CliRun.of(
            "erase",
            "--model",
            Fixtures.tinySd().toString(),
            "--concept",
            "nudity",
            "--method",
            "p-ac",
            "--out",
            tmp.resolve("ac").toString()),
        "--anchor");
    assertBadInput(
        CliRun.of(
            "erase",
            "--concept",
            "star",
            "--method",
            "magic",
            "--out",
            tmp.resolve("x").toString()),
        "magic");
  }

  /** A copy of the fixture whose UNet file differs only in its metadata: same weights, new hash. */
  private Path otherModel() throws IOException {
    Path dst = tmp.resolve("other");
    try (Stream<Path> files = Files.walk(Fixtures.tinySd())) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path rel = Fixtures.tinySd().relativize(p);
        if (rel.startsWith("reference") || rel.startsWith("single-file")) {
          continue;
        }
        Path q = dst.resolve(rel.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(q);
        } else {
          Files.copy(p, q);
        }
      }
    }
    Path unet = dst.resolve("unet/diffusion_pytorch_model.safetensors");
    try (SafeTensors st =
            SafeTensors.open(
                Fixtures.tinySd().resolve("unet/diffusion_pytorch_model.safetensors"));
        NDManager m = Torch.newManager()) {
      SafeTensorsWriter w = new SafeTensorsWriter().metadata("variant", "another model");
      for (String k : st.keys()) {
        w.put(k, st.load(k, m));
      }
      w.write(unet);
    }
    return dst;
  }

  /**
   * A hand-made mask of the tiny UNet: every third element of two cross-attention weights and a
   * conv.
   */
  private static BinaryMask handMask(String hash, String concept, int offset) {
    Map<String, BinaryMask.Pruned> pruned = new LinkedHashMap<>();
    try (SafeTensors st =
        SafeTensors.open(Fixtures.tinySd().resolve("unet/diffusion_pytorch_model.safetensors"))) {
      for (String k :
          new String[] {
            "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_v.weight",
            "down_blocks.0.resnets.0.conv1.weight"
          }) {
        long[] shape = st.info(k).shape();
        int n = (int) st.info(k).numel();
        int[] idx = new int[(n - offset + 2) / 3];
        for (int i = 0; i < idx.length; i++) {
          idx[i] = offset + 3 * i;
        }
        Param.Kind kind = shape.length == 4 ? Param.Kind.CONV : Param.Kind.LINEAR;
        pruned.put(k, new BinaryMask.Pruned(shape, kind, idx));
      }
    }
    MaskMetadata md = new MaskMetadata(hash, "regex:hand", "p-esd", 10, 0.5, concept, null, "{}");
    return BinaryMask.of(md, pruned);
  }

  private static String[] generateArgs(Path model, Path out, String... extra) {
    String[] base = {
      "generate",
      "--model",
      model.toString(),
      "--prompt",
      "a photo of an astronaut",
      "--seed",
      "5",
      "--steps",
      "3",
      "--height",
      "16",
      "--width",
      "16",
      "--out",
      out.toString()
    };
    String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return all;
  }

  private static float[] latents(Path out) {
    try (SafeTensors st = SafeTensors.open(out.resolve("latents.safetensors"))) {
      return st.floats("latents");
    }
  }

  @Test
  void maskAppliesOnlyToItsModelAndBakesToTheSameOutputs() throws IOException {
    String hash = DiffusersLayout.open(Fixtures.tinySd()).modelHash();
    Path maskFile = tmp.resolve("mask.safetensors");
    handMask(hash, "astronaut", 0).write(maskFile);

    // another model: refused with exit code 2, by generate and by mask apply, nothing written
    Path other = otherModel();
    assertBadInput(
        CliRun.of(generateArgs(other, tmp.resolve("g0"), "--mask", maskFile.toString())), "hash");
    Path baked0 = tmp.resolve("baked0");
    assertBadInput(
        CliRun.of(
            "mask",
            "apply",
            "--mask",
            maskFile.toString(),
            "--model",
            other.toString(),
            "--out",
            baked0.toString()),
        "hash");
    assertFalse(Files.exists(baked0));

    // on its own model: generate --mask equals the model with the mask baked in, bit for bit
    CliRun g1 =
        CliRun.of(
            generateArgs(Fixtures.tinySd(), tmp.resolve("g1"), "--mask", maskFile.toString()));
    assertEquals(0, g1.code(), g1.output());
    Path baked = tmp.resolve("baked");
    CliRun a =
        CliRun.of(
            "mask",
            "apply",
            "--mask",
            maskFile.toString(),
            "--model",
            Fixtures.tinySd().toString(),
            "--out",
            baked.toString());
    assertEquals(0, a.code(), a.output());
    CliRun g2 = CliRun.of(generateArgs(baked, tmp.resolve("g2")));
    assertEquals(0, g2.code(), g2.output());
    CliRun g3 = CliRun.of(generateArgs(Fixtures.tinySd(), tmp.resolve("g3")));
    assertEquals(0, g3.code(), g3.output());
    assertArrayEquals(latents(tmp.resolve("g1")), latents(tmp.resolve("g2")), "baked vs --mask");
    assertFalse(
        java.util.Arrays.equals(latents(tmp.resolve("g1")), latents(tmp.resolve("g3"))),
        "the mask should change the output");
    // the baked file zeroes exactly the pruned elements, keeps the rest bit for bit
    try (SafeTensors src =
            SafeTensors.open(
                Fixtures.tinySd().resolve("unet/diffusion_pytorch_model.safetensors"));
        SafeTensors dst =
            SafeTensors.open(baked.resolve("unet/diffusion_pytorch_model.safetensors"))) {
      assertEquals(src.keys(), dst.keys());
      String k = "down_blocks.0.resnets.0.conv1.weight";
      float[] x = src.floats(k);
      float[] y = dst.floats(k);
      for (int i = 0; i < x.length; i++) {
        assertEquals(
            Float.floatToRawIntBits(i % 3 == 0 ? x[i] * 0f : x[i]),
            Float.floatToRawIntBits(y[i]),
            k + "[" + i + "]");
      }
      assertEquals("astronaut", dst.metadata().get("perase_mask_concept"));
    }
    // a non-empty --out is refused
    assertBadInput(
        CliRun.of(
            "mask",
            "apply",
            "--mask",
            maskFile.toString(),
            "--model",
            Fixtures.tinySd().toString(),
            "--out",
            baked.toString()),
        "not empty");

    // union: every third element from offset 0 and from offset 1
    Path second = tmp.resolve("second.safetensors");
    handMask(hash, "horse", 1).write(second);
    Path union = tmp.resolve("union.safetensors");
    CliRun u =
        CliRun.of(
            "mask", "union", maskFile.toString(), second.toString(), "--out", union.toString());
    assertEquals(0, u.code(), u.output());
    BinaryMask joined = BinaryMask.read(union);
    assertEquals(
        BinaryMask.read(maskFile).prunedCount() + BinaryMask.read(second).prunedCount(),
        joined.prunedCount());
    assertTrue(joined.metadata().concept().contains("horse"));

    // mask remove takes the second concept back out of the union: the first mask's elements remain
    Path back = tmp.resolve("back.safetensors");
    CliRun r =
        CliRun.of(
            "mask",
            "remove",
            union.toString(),
            "--mask",
            second.toString(),
            "--out",
            back.toString());
    assertEquals(0, r.code(), r.output());
    assertEquals(BinaryMask.read(maskFile).perParameter(), BinaryMask.read(back).perParameter());
    CliRun bad =
        CliRun.of(
            "mask",
            "remove",
            union.toString(),
            "--mask",
            tmp.resolve("missing").toString(),
            "--out",
            tmp.resolve("x.safetensors").toString());
    assertEquals(2, bad.code(), bad.output());
    assertFalse(Files.exists(tmp.resolve("x.safetensors")));
  }
}

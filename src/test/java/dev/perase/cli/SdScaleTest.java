package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.erase.Selection;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * P-ESD end to end on an SD v1.4-shaped pipeline ({@code make-model}): two steps over every
 * non-cross-attention weight (815 M mask elements) at 16×16 latents, written as a mask. Needs about
 * 21 GB of free memory and 10 to 15 minutes here, so it is a documented command, not a default
 * test:
 *
 * <pre>
 *   mvn test -Dtest=SdScaleTest -Dtest.excluded=none [-Dperase.sd14=DIR]
 * </pre>
 *
 * With {@code -Dperase.sd14=DIR} it reuses a folder {@code make-model} wrote; without, it writes
 * one (1.7 GB) into a temporary folder first. {@code -Dperase.sd14.layers=cross-attn} runs the
 * small selection instead.
 */
@Tag("bench")
class SdScaleTest {
  @TempDir Path tmp;

  @Test
  void pEsdOnAnSdV14ShapedUNetWritesAMask() throws IOException {
    String given = System.getProperty("perase.sd14");
    Path model;
    if (given != null) {
      model = Path.of(given);
    } else {
      model = tmp.resolve("sd14");
      CliRun made = CliRun.of("make-model", "--preset", "sd-v1.4", "--out", model.toString());
      assertEquals(0, made.code(), made.output());
      assertTrue(made.out().contains("UNet 859,520,964"), made.out());
    }
    String layers = System.getProperty("perase.sd14.layers", "non-cross-attn");
    Path out = tmp.resolve("pesd");
    CliRun run =
        CliRun.of(
            "erase",
            "--model",
            model.toString(),
            "--method",
            "p-esd",
            "--concept",
            "nudity",
            "--layers",
            layers,
            "--steps",
            "2",
            "--ddim-steps",
            "2",
            "--latent-size",
            "16",
            "--out",
            out.toString());
    assertEquals(0, run.code(), run.output());
    System.out.print(run.out());
    assertEquals(2, Files.readAllLines(out.resolve("log.jsonl")).size());
    BinaryMask mask = BinaryMask.read(out.resolve("mask.safetensors"));
    System.out.printf(
        "SD v1.4-shaped P-ESD (%s): %,d of %,d elements pruned, mask file %,d bytes%n",
        layers,
        mask.prunedCount(),
        mask.totalElements(),
        Files.size(out.resolve("mask.safetensors")));
    assertTrue(mask.totalElements() > 0);
  }

  /**
   * The mask file of an SD v1.4 mask at the paper's ratio (1.2·10⁻⁵ of the non-cross-attention
   * weights, seeded random indices): its size, and the time of {@code mask union} and {@code mask
   * apply} at that size. Needs {@code -Dperase.sd14=DIR}.
   */
  @Test
  void maskFileAtThePapersRatio() throws IOException {
    String given = System.getProperty("perase.sd14");
    org.junit.jupiter.api.Assumptions.assumeTrue(given != null, "needs -Dperase.sd14=DIR");
    Path model = Path.of(given);
    Path a = tmp.resolve("a.safetensors");
    Path b = tmp.resolve("b.safetensors");
    long selected = 0;
    long pruned = 0;
    try (StableDiffusion sd = StableDiffusion.load(model)) {
      String hash = sd.layout().modelHash();
      List<Param> params = Selection.parse("non-cross-attn").selectSome(sd.unet().params());
      for (int seed = 0; seed < 2; seed++) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, BinaryMask.Pruned> m = new LinkedHashMap<>();
        selected = 0;
        pruned = 0;
        for (Param p : params) {
          long n = p.numel();
          selected += n;
          int k = (int) Math.round(n * 1.2e-5);
          TreeSet<Integer> idx = new TreeSet<>();
          while (idx.size() < k) {
            idx.add(rng.nextInt((int) n));
          }
          pruned += k;
          m.put(
              p.name(),
              new BinaryMask.Pruned(
                  p.value().getShape().getShape(),
                  p.kind(),
                  idx.stream().mapToInt(Integer::intValue).toArray()));
        }
        MaskMetadata md =
            new MaskMetadata(hash, "non-cross-attn", "p-esd", 10, 0.5, "nudity", null, "{}");
        BinaryMask.of(md, m).write(seed == 0 ? a : b);
      }
    }
    long t0 = System.nanoTime();
    CliRun union =
        CliRun.of(
            "mask", "union", a.toString(), b.toString(), "--out", tmp.resolve("u").toString());
    double unionS = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, union.code(), union.output());
    t0 = System.nanoTime();
    CliRun apply =
        CliRun.of(
            "mask",
            "apply",
            "--mask",
            a.toString(),
            "--model",
            model.toString(),
            "--out",
            tmp.resolve("pruned-model").toString());
    double applyS = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, apply.code(), apply.output());
    System.out.printf(
        "SD v1.4 mask at 1.2e-5: %,d of %,d pruned, file %,d bytes; mask union %.2f s, mask apply"
            + " (writes the pruned model) %.1f s%n",
        pruned, selected, Files.size(a), unionS, applyS);
    assertTrue(Files.size(a) < 64 * 1024, "mask file " + Files.size(a) + " bytes");
  }
}

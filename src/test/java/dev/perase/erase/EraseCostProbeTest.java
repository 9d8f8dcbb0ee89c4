package dev.perase.erase;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import dev.perase.pipeline.StableDiffusion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cost probe, not a check: ms per step of ESD fine-tuning and of P-ESD on the tiny fixture UNet
 * (non-cross-attn, 8×8 latents, x_t from a 5-step DDIM loop, the same seed so both draw the same
 * x_t lengths, so both pay the same sampling), and the RSS seen in their logs. Median and minimum,
 * as other work on the machine makes single steps noisy. Printed for the record; only the step
 * counts are asserted. The world model's numbers belong in the README.
 */
@Tag("bench")
class EraseCostProbeTest {
  static final int STEPS = 8;

  @TempDir Path tmp;

  @Test
  void printsMillisecondsPerStepOfEsdFineTuningAndPEsd() throws IOException {
    double[] esd;
    double[] pesd;
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      pesd = run(sd, EraseMethod.P_ESD, tmp.resolve("pesd"));
    }
    try (StableDiffusion sd = StableDiffusion.load(Fixtures.tinySd())) {
      esd = run(sd, EraseMethod.ESD, tmp.resolve("esd"));
    }
    System.out.printf(
        "cost probe (tiny UNet, non-cross-attn, steps 2..%d, median / min): ESD fine-tuning %.1f /"
            + " %.1f ms/step (RSS %.0f..%.0f MiB), P-ESD %.1f / %.1f ms/step (RSS %.0f..%.0f MiB),"
            + " ratio of medians %.2f%n",
        STEPS,
        esd[0],
        esd[3],
        esd[1],
        esd[2],
        pesd[0],
        pesd[3],
        pesd[1],
        pesd[2],
        pesd[0] / esd[0]);
  }

  /** {median ms per step after the first, min RSS, max RSS, min ms per step} from the log. */
  private static double[] run(StableDiffusion sd, EraseMethod method, Path out) throws IOException {
    EraseSettings s =
        EraseSettings.defaults(
                method,
                "a photo of an astronaut",
                null,
                Selection.parse("non-cross-attn"),
                sd.unet().params().numel(),
                8)
            .withSteps(STEPS)
            .withSeed(3)
            .withCheckpointEvery(1000)
            .withEsd(EsdSettings.DEFAULT.withDdimSteps(5));
    Erasure e =
        method.pruning()
            ? MaskTrainer.train(sd, s, out, false, null)
            : FineTuneTrainer.train(sd, s, out, false, null);
    assertEquals(STEPS, e.stepsRun());
    List<String> lines = Files.readAllLines(out.resolve("log.jsonl"));
    double[] ms = new double[lines.size() - 1];
    double lo = Double.MAX_VALUE;
    double hi = 0;
    for (int i = 1; i < lines.size(); i++) {
      JsonNode n = Json.MAPPER.readTree(lines.get(i));
      ms[i - 1] = n.get("seconds").asDouble() * 1000;
      double rss = n.has("rss_mb") ? n.get("rss_mb").asDouble() : Double.NaN;
      lo = Math.min(lo, rss);
      hi = Math.max(hi, rss);
    }
    java.util.Arrays.sort(ms);
    return new double[] {ms[ms.length / 2], lo, hi, ms[0]};
  }
}

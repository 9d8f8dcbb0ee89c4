package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.ChildJvm;
import dev.perase.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code demo --quick} killed with SIGKILL at seeded moments and restarted with the same arguments
 * ends with the study an uninterrupted run gives: {@code study.json} equal in every figure (CERs,
 * pruned counts, Fréchet distances, the models' rows) but the timings. A quick demo takes minutes
 * here, so this is a documented command, not a default test:
 *
 * <pre>
 *   mvn test -Dtest=DemoKillResumeTest -Dtest.excluded=none [-Dperase.kills=N]
 * </pre>
 */
@Tag("bench")
class DemoKillResumeTest {
  @TempDir Path tmp;

  private Process start(Path out) throws Exception {
    return ChildJvm.start(
        ChildJvm.command(Main.class, "demo", "--quick", "--out", out.toString()),
        Path.of("").toAbsolutePath(),
        tmp.resolve("child-" + System.nanoTime() + ".log"),
        null);
  }

  @Test
  void killedQuickDemosResumeToTheUninterruptedStudy() throws Exception {
    Path reference = tmp.resolve("reference");
    long t0 = System.nanoTime();
    Process ref = start(reference);
    assertTrue(ref.waitFor(1800, TimeUnit.SECONDS), "reference demo within 30 min");
    assertEquals(0, ref.exitValue());
    double t = (System.nanoTime() - t0) / 1e9;
    Path out = tmp.resolve("killed");
    SplittableRandom r = new SplittableRandom(20);
    int kills = Integer.getInteger("perase.kills", 3);
    int killed = 0;
    for (int k = 0; k < kills; k++) {
      Process p = start(out);
      if (p.waitFor((long) ((2 + r.nextDouble() * (t - 2)) * 1000), TimeUnit.MILLISECONDS)) {
        assertEquals(0, p.exitValue());
        break; // finished before its kill
      }
      p.destroyForcibly();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      killed++;
    }
    Process last = start(out);
    assertTrue(last.waitFor(1800, TimeUnit.SECONDS));
    assertEquals(0, last.exitValue());
    assertEquals(withoutTimings(reference), withoutTimings(out), "study.json but the timings");
    System.out.printf(
        "kill-resume demo --quick: %d kills, reference run %.0f s; study equal%n", killed, t);
    assertTrue(killed > 0, "at least one kill landed");
  }

  private static JsonNode withoutTimings(Path dir) throws Exception {
    ObjectNode n = (ObjectNode) Json.MAPPER.readTree(Files.readString(dir.resolve("study.json")));
    for (String key : List.of("timings", "wall_seconds", "perase_version")) {
      n.remove(key);
    }
    return n;
  }
}

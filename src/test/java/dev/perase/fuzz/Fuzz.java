package dev.perase.fuzz;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.perase.io.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs a reader on seeded mutations of its inputs and counts the outcomes: loaded, refused with a
 * {@link BadInputException} (what the CLI turns into one line and exit code 2), or anything else —
 * another exception, an error, a case that runs past its time limit, or one that allocates far more
 * than its input's size — which fails the test. Each case is a pure function of the run's seed
 * ({@code -Dperase.fuzz.seed}, default 20) and its number; a failing case is saved under {@code
 * target/fuzz-failures/} to be replayed. The number of cases per reader is the default of the test
 * tier unless {@code -Dperase.fuzz.cases=N} asks for more (the long run). Counts are written to
 * {@code target/fuzz/<reader>.json}.
 */
final class Fuzz {
  /** Time limit of one case. */
  static final Duration CASE_LIMIT = Duration.ofSeconds(10);

  /** Heap a case may allocate: this much plus {@link #ALLOCATION_PER_BYTE} per input byte. */
  static final long ALLOCATION_BASE = 64L << 20;

  static final long ALLOCATION_PER_BYTE = 64;

  private Fuzz() {}

  /** A reader's run on the folder of one case: the mutated file and its unchanged companions. */
  @FunctionalInterface
  interface Reader {
    void read(Path file) throws Exception;
  }

  /**
   * One input to mutate: the file's name, its seed bytes, and the files that stay as they are
   * beside it (copied, or linked when {@code link}).
   */
  record Target(String name, byte[] seed, Map<String, Path> companions) {
    Target(String name, byte[] seed) {
      this(name, seed, Map.of());
    }
  }

  record Counts(
      String reader,
      long seed,
      int tried,
      int loaded,
      int refused,
      int other,
      long maxAllocatedBytes,
      double seconds,
      List<String> failures) {}

  static long seed() {
    return Long.getLong("perase.fuzz.seed", 20);
  }

  static int cases(int defaultCases) {
    return Integer.getInteger("perase.fuzz.cases", defaultCases);
  }

  static Counts run(
      String reader, List<Target> targets, Mutator mutator, Reader read, int cases, Path tmp)
      throws IOException {
    return run(reader, targets, mutator, read, cases, tmp, ALLOCATION_PER_BYTE);
  }

  /**
   * As above, with its own heap bound per input byte: a compressed format (PNG) legitimately
   * decodes to a thousand times its size.
   */
  static Counts run(
      String reader,
      List<Target> targets,
      Mutator mutator,
      Reader read,
      int cases,
      Path tmp,
      long allocationPerByte)
      throws IOException {
    long seed = seed();
    long t0 = System.nanoTime();
    int loaded = 0;
    int refused = 0;
    int other = 0;
    long maxAlloc = 0;
    List<String> failures = new ArrayList<>();
    Path failDir = Path.of("target", "fuzz-failures");
    for (int i = 0; i < cases; i++) {
      Target t = targets.get(i % targets.size());
      SplittableRandom r =
          new SplittableRandom(seed * 0x9E3779B97F4A7C15L + reader.hashCode() * 31L + i);
      byte[] input = mutator.mutate(t.seed(), r);
      Path dir = tmp.resolve(reader + "-" + i);
      Files.createDirectories(dir);
      for (Map.Entry<String, Path> c : t.companions().entrySet()) {
        Files.createSymbolicLink(dir.resolve(c.getKey()), c.getValue().toAbsolutePath());
      }
      Path file = dir.resolve(t.name());
      Files.write(file, input);
      long[] allocated = {0};
      Throwable failure = null;
      try {
        assertTimeoutPreemptively(
            CASE_LIMIT,
            () -> {
              var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
              long before = mx.getCurrentThreadAllocatedBytes();
              try {
                read.read(file);
              } finally {
                allocated[0] = mx.getCurrentThreadAllocatedBytes() - before;
              }
            });
        loaded++;
      } catch (BadInputException e) {
        refused++;
      } catch (Throwable e) {
        failure = e;
      }
      maxAlloc = Math.max(maxAlloc, allocated[0]);
      if (failure == null && allocated[0] > ALLOCATION_BASE + allocationPerByte * input.length) {
        failure =
            new AssertionError(
                "allocated " + allocated[0] + " bytes for an input of " + input.length);
      }
      if (failure != null) {
        other++;
        Files.createDirectories(failDir);
        Path saved = failDir.resolve(reader + "-" + seed + "-" + i + "-" + t.name());
        Files.write(saved, input);
        if (failures.size() < 5) {
          StringWriter sw = new StringWriter();
          failure.printStackTrace(new PrintWriter(sw));
          failures.add(
              "case "
                  + i
                  + " ("
                  + saved
                  + "): "
                  + sw.toString().lines().limit(12).reduce((a, b) -> a + "\n" + b).orElse(""));
        }
      }
      deleteTree(dir);
    }
    Counts c =
        new Counts(
            reader,
            seed,
            cases,
            loaded,
            refused,
            other,
            maxAlloc,
            (System.nanoTime() - t0) / 1e9,
            failures);
    Path out = Path.of("target", "fuzz");
    Files.createDirectories(out);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("reader", reader);
    json.put("seed", seed);
    json.put("tried", c.tried());
    json.put("loaded", c.loaded());
    json.put("refused", c.refused());
    json.put("other", c.other());
    json.put("max_allocated_bytes", c.maxAllocatedBytes());
    json.put("seconds", c.seconds());
    Files.writeString(
        out.resolve(reader + ".json"), dev.perase.io.Json.MAPPER.writeValueAsString(json) + "\n");
    System.out.printf(
        "fuzz %s: %d tried, %d loaded, %d refused, %d other (seed %d, %.1f s, max %d MB allocated)%n",
        reader, c.tried(), c.loaded(), c.refused(), c.other(), seed, c.seconds(), maxAlloc >> 20);
    return c;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}

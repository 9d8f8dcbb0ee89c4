package dev.perase;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts a second JVM on this test run's class path, for tests that need two real processes (a lock
 * held by another process, a run killed by SIGKILL, a file-size limit that only the child has). The
 * child runs with one torch thread, as the tests do.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /** The command line of {@code java <mainClass> <args>} with this JVM's class path. */
  public static List<String> command(Class<?> mainClass, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx2g");
    cmd.add("-Djava.awt.headless=true");
    cmd.add("-Dai.djl.pytorch.num_threads=1");
    cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass.getName());
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Starts {@code cmd} in {@code dir} with stdout and stderr merged into {@code log}; {@code
   * shellPrefix}, when not null, runs it through {@code bash -c "<prefix>; exec <cmd>"} (e.g. a
   * {@code ulimit}).
   */
  public static Process start(List<String> cmd, Path dir, Path log, String shellPrefix)
      throws IOException {
    List<String> full = cmd;
    if (shellPrefix != null) {
      StringBuilder sb = new StringBuilder(shellPrefix).append("; exec");
      for (String c : cmd) {
        sb.append(" '").append(c.replace("'", "'\\''")).append('\'');
      }
      full = List.of("bash", "-c", sb.toString());
    }
    ProcessBuilder pb = new ProcessBuilder(full).directory(dir.toFile());
    Map<String, String> env = pb.environment();
    env.put("OMP_NUM_THREADS", "1");
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    return pb.start();
  }
}

package dev.perase.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * A run of the {@code perase} command line in this JVM ({@link Main#run}), for tests: its exit code
 * and what it printed, stdout and stderr apart and, in {@code output}, both as a terminal
 * interleaves them.
 */
public record CliRun(int code, String out, String err, String output) {

  /** Runs the CLI with {@code args}, capturing stdout and stderr for the length of the run. */
  public static CliRun of(String... args) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    ByteArrayOutputStream both = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new Tee(o, both), true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(new Tee(e, both), true, StandardCharsets.UTF_8));
    try {
      int code = Main.run(args);
      return new CliRun(
          code,
          o.toString(StandardCharsets.UTF_8),
          e.toString(StandardCharsets.UTF_8),
          both.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }

  /** Writes every byte to its own stream and to the shared one. */
  private static final class Tee extends OutputStream {
    private final ByteArrayOutputStream own;
    private final ByteArrayOutputStream shared;

    Tee(ByteArrayOutputStream own, ByteArrayOutputStream shared) {
      this.own = own;
      this.shared = shared;
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      synchronized (shared) {
        own.write(b, off, len);
        shared.write(b, off, len);
      }
    }
  }
}

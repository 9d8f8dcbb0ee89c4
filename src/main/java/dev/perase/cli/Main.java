package dev.perase.cli;

import dev.perase.io.BadInputException;
import dev.perase.io.FileAccessException;
import dev.perase.tensor.Torch;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code perase} command: one thin subcommand per verb. */
@Command(
    name = "perase",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    description = {
      "Robust concept erasing in text-to-image diffusion models by pruning (P-ESD, P-AC).",
      ""
    },
    subcommands = {
      GenerateCommand.class,
      EraseCommand.class,
      MaskCommand.class,
      EvaluateCommand.class,
      DetectCommand.class,
      FidCommand.class,
      AttackCommand.class,
      MergeCommand.class,
      ReportCommand.class,
      DemoCommand.class,
      NeuronsCommand.class,
      WorldCommand.class,
      BenchCommand.class,
      MakeModelCommand.class,
      ConvertCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  /**
   * Exit code for bad input: malformed files, missing keys, bad arguments, and files that cannot be
   * read or written.
   */
  public static final int BAD_INPUT = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** {@code --device cpu|gpu} on every command; without it, the GPU when one is present. */
  @CommandLine.Option(
      names = "--device",
      scope = CommandLine.ScopeType.INHERIT,
      description = "cpu or gpu (default: the GPU when libtorch sees one, else the CPU).")
  void setDevice(String name) {
    switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "cpu" -> Torch.useDevice(ai.djl.Device.cpu());
      case "gpu" -> {
        if (Torch.gpuCount() == 0) {
          throw new BadInputException(
              "--device gpu: libtorch sees no GPU here (a CPU build, or no CUDA device)");
        }
        Torch.useDevice(ai.djl.Device.gpu());
      }
      default -> throw new BadInputException("--device must be cpu or gpu, got '" + name + "'");
    }
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    dev.perase.tensor.Torch.useDefaultThreads();
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (used by tests). */
  public static int run(String... args) {
    System.setProperty("java.awt.headless", "true");
    CommandLine cli = new CommandLine(new Main());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(
        (ex, cmd, parseResult) -> {
          Throwable cause = rootBadInput(ex);
          if (cause != null) {
            cmd.getErr().println("error: " + cause.getMessage());
            return BAD_INPUT;
          }
          // A file operation that failed where no reader or writer turned it into a sentence: the
          // surroundings (a path in the way, a permission, a full disk), not a bug of perase.
          String io = FileAccessException.describe(ex);
          if (io != null) {
            cmd.getErr().println("error: " + io);
            return BAD_INPUT;
          }
          cmd.getErr().println("error: " + ex);
          ex.printStackTrace(cmd.getErr());
          return 1;
        });
    cli.setParameterExceptionHandler(
        (ex, a) -> {
          // an option setter's own refusal (--device) comes wrapped: print its sentence alone
          Throwable bad = rootBadInput(ex);
          ex.getCommandLine()
              .getErr()
              .println("error: " + (bad != null ? bad.getMessage() : ex.getMessage()));
          ex.getCommandLine()
              .getErr()
              .println(
                  "Run '"
                      + ex.getCommandLine().getCommandSpec().qualifiedName()
                      + " --help' for usage.");
          return BAD_INPUT;
        });
    return cli.execute(args);
  }

  /** {@code perase --version}: the POM's version ({@link dev.perase.Version}). */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"perase " + dev.perase.Version.NAME};
    }
  }

  private static BadInputException rootBadInput(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof BadInputException b) {
        return b;
      }
    }
    return null;
  }
}

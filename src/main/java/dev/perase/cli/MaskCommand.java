package dev.perase.cli;

import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskedModel;
import dev.perase.io.OutputPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "mask",
    mixinStandardHelpOptions = true,
    description = {
      "Mask files (perase's hard masks 1[m > τ], made by erase --method p-esd|p-ac): show one, bake"
          + " one into a copy of its model, or join masks for several concepts.",
      "Removing a mask needs no command: the base model is never changed, so using it without"
          + " --mask is the original model, bit for bit."
    },
    subcommands = {
      MaskCommand.Info.class,
      MaskCommand.Apply.class,
      MaskCommand.Remove.class,
      MaskCommand.Union.class
    })
final class MaskCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "info",
      mixinStandardHelpOptions = true,
      description =
          "Shows a mask: method, concept, layers, base model, pruned count and ratio, the split by"
              + " layer type and block, and each pruned parameter.",
      footer = {"", "Examples:", "  ./perase mask info out/star-pesd/mask.safetensors"})
  static final class Info implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The mask file.")
    Path file;

    @Override
    public Integer call() {
      System.out.print(BinaryMask.read(file).info());
      return 0;
    }
  }

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description =
          "Writes a copy of the model (a folder, or a single-file checkpoint as a new .safetensors"
              + " file) with the mask baked into the UNet weights (W ⊙ m, in the weights' own"
              + " dtype), for tools that cannot read mask files. perase itself applies masks on the"
              + " fly: generate --mask FILE.",
      footer = {
        "",
        "Examples:",
        "  ./perase mask apply --mask out/star-pesd/mask.safetensors --out out/world-without-star"
      })
  static final class Apply implements Callable<Integer> {
    @Option(names = "--mask", required = true, description = "The mask file.")
    Path mask;

    @Option(
        names = "--model",
        description =
            "The base model: a diffusers folder, or a single-file .safetensors checkpoint (with"
                + " --config) (default: ${DEFAULT-VALUE}).")
    Path model = Defaults.model();

    @Option(
        names = "--config",
        paramLabel = "DIR",
        description =
            "For a single-file --model: a diffusers folder whose tokenizer/ (required) and configs"
                + " (each defaults to SD v1.x's) are used.")
    Path config;

    @Option(
        names = "--out",
        required = true,
        description =
            "The new model: a folder (must not exist or be empty), or for a single-file --model a"
                + " new FILE.safetensors.")
    Path out;

    @Override
    public Integer call() {
      if (Files.isDirectory(model)) {
        MaskedModel.checkTarget(out); // before any work
      }
      BinaryMask m = BinaryMask.read(mask);
      long zeroed = MaskedModel.write(m, model, config, out);
      System.out.printf(
          Locale.ROOT, "zeroed %,d weight elements; wrote the masked model to %s%n", zeroed, out);
      return 0;
    }
  }

  @Command(
      name = "union",
      mixinStandardHelpOptions = true,
      description =
          "Joins masks made for the same base model: an element is pruned if any mask prunes it"
              + " (erasing several concepts at once).",
      footer = {
        "",
        "Examples:",
        "  ./perase mask union out/star-pesd/mask.safetensors out/vortex-pesd/mask.safetensors"
            + " --out out/star+vortex.safetensors"
      })
  static final class Union implements Callable<Integer> {
    @Parameters(arity = "2..*", paramLabel = "FILE", description = "Two or more mask files.")
    List<Path> files;

    @Option(names = "--out", required = true, description = "The mask file to write.")
    Path out;

    @Override
    public Integer call() {
      OutputPaths.checkFile(out, "--out");
      BinaryMask[] masks = new BinaryMask[files.size()];
      for (int i = 0; i < masks.length; i++) {
        masks[i] = BinaryMask.read(files.get(i));
      }
      BinaryMask u = BinaryMask.union(masks);
      u.write(out);
      System.out.printf(
          Locale.ROOT,
          "union of %d masks: %,d pruned elements; wrote %s%n",
          masks.length,
          u.prunedCount(),
          out);
      return 0;
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description =
          "Takes a mask back out of another (a concept out of a union): the elements FILE prunes"
              + " and --mask does not. Elements both prune are restored, even when another concept"
              + " of the union pruned them too; to keep those, union the remaining masks again.",
      footer = {
        "",
        "Examples:",
        "  ./perase mask remove out/star+vortex.safetensors --mask"
            + " out/vortex-pesd/mask.safetensors --out out/star-only.safetensors"
      })
  static final class Remove implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "The mask to remove from (e.g. a union).")
    Path from;

    @Option(names = "--mask", required = true, description = "The mask whose elements to restore.")
    Path mask;

    @Option(names = "--out", required = true, description = "The mask file to write.")
    Path out;

    @Override
    public Integer call() {
      OutputPaths.checkFile(out, "--out");
      BinaryMask a = BinaryMask.read(from);
      BinaryMask d = BinaryMask.difference(a, BinaryMask.read(mask));
      d.write(out);
      System.out.printf(
          Locale.ROOT,
          "%,d of %,d pruned elements remain (%,d restored); wrote %s%n",
          d.prunedCount(),
          a.prunedCount(),
          a.prunedCount() - d.prunedCount(),
          out);
      return 0;
    }
  }
}

package dev.perase.cli;

import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.RunLock;
import dev.perase.pipeline.ShapedPipeline;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "make-model",
    mixinStandardHelpOptions = true,
    description =
        "Writes a diffusers folder with a real model's configurations and seeded random weights"
            + " (images are noise; shapes, memory and time are the real model's): for running and"
            + " measuring perase at Stable Diffusion scale without downloading a checkpoint.",
    footer = {
      "",
      "Example:",
      "  ./perase make-model --preset sd-v1.4 --dtype f16 --out out/sd14-shaped"
    })
final class MakeModelCommand implements Callable<Integer> {
  @Option(names = "--preset", description = "The configurations: sd-v1.4 (default).")
  String preset = "sd-v1.4";

  @Option(names = "--dtype", description = "Weight storage: f16 (default) or f32.")
  String dtype = "f16";

  @Option(names = "--seed", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
  long seed = 0;

  @Option(names = "--out", required = true, description = "Output folder (no model in it yet).")
  Path out;

  @Override
  public Integer call() {
    ShapedPipeline.Preset p = ShapedPipeline.Preset.parse(preset);
    DType storage =
        switch (dtype.toLowerCase(Locale.ROOT)) {
          case "f16" -> DType.F16;
          case "f32" -> DType.F32;
          default -> throw new BadInputException("--dtype must be f16 or f32, got " + dtype);
        };
    long t0 = System.nanoTime();
    ShapedPipeline.Summary s;
    try (RunLock lock = RunLock.acquire(out, "make-model")) {
      s = ShapedPipeline.write(p, out, storage, seed);
    }
    System.out.printf(
        Locale.ROOT,
        "wrote %s (%s weights, seed %d) to %s in %.1f s: UNet %,d, text encoder %,d, VAE %,d"
            + " parameters%n",
        p.label(),
        storage,
        seed,
        out,
        (System.nanoTime() - t0) / 1e9,
        s.unet(),
        s.textEncoder(),
        s.vae());
    return 0;
  }
}

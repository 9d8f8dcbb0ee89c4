package dev.perase.cli;

import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.OutputPaths;
import dev.perase.io.SingleFileWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "convert",
    mixinStandardHelpOptions = true,
    description =
        "Writes a diffusers model folder as one single-file checkpoint in the original"
            + " CompVis/LDM key layout (model.diffusion_model.*, first_stage_model.*,"
            + " cond_stage_model.transformer.*), as diffusers'"
            + " convert_diffusers_to_original_stable_diffusion.py --use_safetensors does. Tensors"
            + " are copied one piece at a time, so memory stays small at any model size.",
    footer = {
      "",
      "Example:",
      "  ./perase convert --model out/sd14-shaped --dtype f16 --out out/sd14-shaped.safetensors"
    })
final class ConvertCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "The diffusers model folder.")
  Path model;

  @Option(
      names = "--out",
      required = true,
      description = "The checkpoint to write (*.safetensors; must not exist yet).")
  Path out;

  @Option(
      names = "--dtype",
      description =
          "Storage: f16 or f32 (default: the folder's precision, f16 when every weight is f16).")
  String dtype;

  @Override
  public Integer call() {
    DType storage =
        dtype == null
            ? null
            : switch (dtype.toLowerCase(Locale.ROOT)) {
              case "f16" -> DType.F16;
              case "f32" -> DType.F32;
              default -> throw new BadInputException("--dtype must be f16 or f32, got " + dtype);
            };
    OutputPaths.checkFile(out, "--out");
    DiffusersLayout layout = DiffusersLayout.open(model);
    if (storage == null) {
      storage = SingleFileWriter.keptPrecision(layout);
    }
    long t0 = System.nanoTime();
    SingleFileWriter.Summary s = SingleFileWriter.write(layout, out, storage);
    System.out.printf(
        Locale.ROOT,
        "wrote %s (%s, %,d bytes) in %.1f s: UNet %d, VAE %d, text encoder %d tensors%n",
        out,
        s.storage(),
        s.bytes(),
        (System.nanoTime() - t0) / 1e9,
        s.tensors().getOrDefault(Component.UNET, 0),
        s.tensors().getOrDefault(Component.VAE, 0),
        s.tensors().getOrDefault(Component.TEXT_ENCODER, 0));
    return 0;
  }
}

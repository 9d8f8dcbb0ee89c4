package dev.perase.cli;

import dev.perase.eval.ConceptRule;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of the commands that judge an edit of the base model with the concept detector over a
 * prompt file ({@code evaluate}, {@code attack}): the prompts, the mask or fine-tuned weights, and
 * the detector, concept and rule.
 */
final class ModelEditOptions {
  @Option(
      names = "--prompts",
      required = true,
      description = "Prompt CSV (UnlearnDiff or I2P layout).")
  Path prompts;

  @Option(names = "--mask", description = "Hard mask file to apply to the UNet (the pruned model).")
  Path mask;

  @Option(
      names = "--weights",
      description =
          "Safetensors file of fine-tuned UNet tensors under diffusers keys (ESD, AC, ...).")
  Path weights;

  @Option(names = "--detector", description = "Detector folder (default: ${DEFAULT-VALUE}).")
  Path detector = Defaults.detector();

  @Option(
      names = "--concept",
      description =
          "Concept to detect: star, red, Vortex, ... (default: the CSV's concept column).")
  String concept;

  @Option(names = "--rule", description = "Detector rule (default: ${DEFAULT-VALUE}).")
  String rule = "top1";

  /** The parsed {@code --rule}. */
  ConceptRule conceptRule() {
    return ConceptRule.parse(rule);
  }
}

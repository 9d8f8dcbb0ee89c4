package dev.perase.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.DiffusersLayout.Component;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a Stable Diffusion pipeline comes from: a diffusers folder ({@link DiffusersLayout}), or a
 * single-file CompVis/LDM checkpoint whose configs and tokenizer come from elsewhere ({@link
 * SingleFileLayout}), as diffusers' {@code from_pretrained} and {@code from_single_file}. The
 * pipeline asks it for the configs, the tokenizer folder and the model's hash; how the weights are
 * read depends on the kind.
 */
public sealed interface ModelSource permits DiffusersLayout, SingleFileLayout {

  /**
   * Opens {@code model}: a folder is a diffusers pipeline and {@code config} must be null (the
   * folder has its own configs); a file (or a name ending in {@code .safetensors} or a pickle
   * suffix) is a single-file checkpoint read with the configs of the diffusers folder {@code
   * config} ({@link SingleFileLayout#open}). Every defect is a {@link BadInputException}.
   */
  static ModelSource open(Path model, Path config) {
    String name = model.getFileName() == null ? "" : model.getFileName().toString();
    if (!Files.isDirectory(model)
        && (Files.isRegularFile(model) || name.contains(".") && !name.startsWith("."))) {
      return SingleFileLayout.open(model, config);
    }
    if (config != null) {
      throw new BadInputException(
          "--config "
              + config
              + " is for a single-file checkpoint; the model "
              + model
              + " is a folder, which has its own configs");
    }
    return DiffusersLayout.open(model);
  }

  /** The model as the user named it: the folder or the single file. */
  Path path();

  /**
   * The diffusers folder whose configs and tokenizer a single file is read with ({@code --config});
   * null for a diffusers folder, which has its own.
   */
  Path configDir();

  /** Whether there is a VAE; a pixel-space model (the built-in world) has none. */
  boolean hasVae();

  /**
   * The model's identity, tying masks and fine-tuned weights to the weights they were made for
   * (SHA-256, lowercase hex; see each kind for what is hashed). Computed once per source.
   */
  String modelHash();

  /** A component's config (UNET, TEXT_ENCODER, VAE, SCHEDULER) read into its record type. */
  <T> T readConfig(Component c, Class<T> type);

  /** A component's config as a JSON tree (for the architecture numbers of a single file). */
  JsonNode configTree(Component c);

  /** Where a component's config comes from, for messages: its file, or the bundled preset's. */
  String describeConfig(Component c);

  /** The CLIP tokenizer folder: {@code vocab.json}, {@code merges.txt}, optional configs. */
  Path tokenizerFolder();

  /** The scheduler config, with DDIMScheduler's defaults for omitted keys. */
  default SchedulerConfig schedulerConfig() {
    return readConfig(Component.SCHEDULER, SchedulerConfig.class);
  }
}

package dev.perase.io;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.io.DiffusersLayout.Component;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A single-file Stable Diffusion checkpoint ({@code .safetensors}, CompVis/LDM keys: {@link
 * SingleFileCheckpoint}) with the configs it does not carry, as diffusers' {@code
 * from_single_file(path, config=...)}.
 *
 * <p>The configs: a component's config file in the diffusers folder {@code config} ({@code
 * unet/config.json}, {@code vae/config.json}, {@code text_encoder/config.json}, {@code
 * scheduler/scheduler_config.json}) when it is there, else SD v1.x's, bundled with perase ({@link
 * PresetConfigs#SD_V1}, the configs {@code make-model --preset sd-v1.4} writes). The tokenizer has
 * no default: SD v1.x's CLIP vocabulary and merges are neither in the file nor bundled, so {@code
 * config/tokenizer/} must hold {@code vocab.json} and {@code merges.txt}.
 *
 * <p>Opening reads only the file's header: the keys must fit the CompVis/LDM layout of the
 * architecture the configs describe, with weights for the UNet, the VAE and the text encoder.
 */
public final class SingleFileLayout implements ModelSource {
  private static final List<Component> MODELS =
      List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER);

  private final Path file;
  private final Path configDir;
  private final Map<Component, Path> configFiles;
  private final LdmArchitecture architecture;
  private volatile String modelHash;

  private SingleFileLayout(Path file, Path configDir, Map<Component, Path> configFiles) {
    this.file = file;
    this.configDir = configDir;
    this.configFiles = configFiles;
    this.architecture = LdmArchitecture.fromConfigs(this);
  }

  /**
   * Opens and checks a single-file checkpoint with the configs of the diffusers folder {@code
   * config}, or SD v1.x's where it is null or lacks one (it must still give the tokenizer). A
   * pickle file, a file that is not safetensors, keys that do not fit the architecture, a {@code
   * config} that is not a folder and a missing tokenizer are each a {@link BadInputException}.
   */
  public static SingleFileLayout open(Path file, Path config) {
    SafeTensors.refusePickle(file);
    if (!Files.isRegularFile(file)) {
      throw new BadInputException(
          "model "
              + file
              + " does not exist (expected a diffusers pipeline folder or a single-file"
              + " .safetensors checkpoint)");
    }
    if (!file.getFileName()
        .toString()
        .toLowerCase(java.util.Locale.ROOT)
        .endsWith(".safetensors")) {
      throw new BadInputException(
          "model "
              + file
              + " is neither a diffusers pipeline folder nor a single-file checkpoint named"
              + " *.safetensors");
    }
    if (config != null && !Files.isDirectory(config)) {
      throw new BadInputException(
          "--config "
              + config
              + " is not a folder (expected a diffusers folder: tokenizer/ and, where the model is"
              + " not SD v1.x, unet/, vae/, text_encoder/ and scheduler/ configs)");
    }
    Path tokenizer = config == null ? null : config.resolve("tokenizer");
    if (tokenizer == null
        || !Files.isRegularFile(tokenizer.resolve("vocab.json"))
        || !Files.isRegularFile(tokenizer.resolve("merges.txt"))) {
      throw new BadInputException(
          "a single-file checkpoint holds no tokenizer: give --config DIR, a diffusers folder whose"
              + " tokenizer/ has vocab.json and merges.txt (SD v1.x's CLIP tokenizer, e.g. the"
              + " tokenizer/ folder of the model's diffusers repository)"
              + (config == null ? "" : "; " + tokenizer + " has not"));
    }
    Map<Component, Path> files = new EnumMap<>(Component.class);
    if (config != null) {
      for (Component c : Component.values()) {
        Path f = config.resolve(c.key).resolve(c.configName());
        if (Files.isRegularFile(f)) {
          files.put(c, f);
        }
      }
    }
    SingleFileLayout layout = new SingleFileLayout(file, config, files);
    layout.checkKeys();
    return layout;
  }

  /** The keys fit the architecture, and each of UNet, VAE and text encoder has weights. */
  private void checkKeys() {
    try (SafeTensors st = SafeTensors.open(file)) {
      Map<String, SingleFileCheckpoint.Target> map =
          SingleFileCheckpoint.keyMap(st.keys(), architecture, file.toString());
      for (Component c : MODELS) {
        if (map.values().stream().noneMatch(t -> t.component() == c)) {
          throw new BadInputException(
              file
                  + " holds no "
                  + c.key
                  + " weights, so it is not a Stable Diffusion single-file checkpoint (UNet under"
                  + " model.diffusion_model., VAE under first_stage_model., text encoder under"
                  + " cond_stage_model.transformer.)");
        }
      }
    }
  }

  /** The checkpoint file. */
  public Path file() {
    return file;
  }

  @Override
  public Path path() {
    return file;
  }

  /** The config folder: its tokenizer, and its configs where it has them. */
  @Override
  public Path configDir() {
    return configDir;
  }

  /** The architecture numbers that place the file's keys, from the configs. */
  public LdmArchitecture architecture() {
    return architecture;
  }

  /**
   * Loads every weight as float32 under its diffusers key ({@link SingleFileCheckpoint#load}), the
   * tensors read one by one through one reused buffer rather than mapped.
   */
  public SingleFileCheckpoint.Components load(NDManager manager) {
    return SingleFileCheckpoint.load(file, architecture, manager);
  }

  @Override
  public boolean hasVae() {
    return true; // checked on opening
  }

  /**
   * SHA-256 of the file's bytes, as {@code sha256sum} prints it ({@link
   * SingleFileCheckpoint#modelHash}), streamed once per layout. The configs do not enter it, and it
   * is not the hash of the diffusers folder the file was converted from (that one hashes the
   * folder's files), so a mask made on one does not apply to the other.
   */
  @Override
  public String modelHash() {
    String h = modelHash;
    if (h == null) {
      h = SingleFileCheckpoint.modelHash(file);
      modelHash = h;
    }
    return h;
  }

  @Override
  public <T> T readConfig(Component c, Class<T> type) {
    Path f = configFiles.get(c);
    if (f != null) {
      return Json.read(f, type);
    }
    try (InputStream in = preset(c)) {
      return Json.read(in, describeConfig(c), type);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the bundled " + describeConfig(c), e);
    }
  }

  @Override
  public JsonNode configTree(Component c) {
    Path f = configFiles.get(c);
    if (f != null) {
      return DiffusersLayout.readTree(f);
    }
    try (InputStream in = preset(c)) {
      return Json.MAPPER.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the bundled " + describeConfig(c), e);
    }
  }

  private static InputStream preset(Component c) {
    if (c == Component.TOKENIZER) {
      throw new IllegalArgumentException("the tokenizer is a folder: tokenizerFolder()");
    }
    return PresetConfigs.open(PresetConfigs.SD_V1, PresetConfigs.fileName(c));
  }

  @Override
  public String describeConfig(Component c) {
    Path f = configFiles.get(c);
    return f != null
        ? f.toString()
        : PresetConfigs.describe(PresetConfigs.SD_V1, PresetConfigs.fileName(c));
  }

  @Override
  public Path tokenizerFolder() {
    return configDir.resolve("tokenizer");
  }

  @Override
  public String toString() {
    return "SingleFileLayout[" + file + ", configs " + configDir + "]";
  }
}

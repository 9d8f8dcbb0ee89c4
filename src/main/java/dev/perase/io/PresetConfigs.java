package dev.perase.io;

import dev.perase.io.DiffusersLayout.Component;
import java.io.InputStream;

/**
 * The configurations of real models that perase bundles ({@code
 * src/main/resources/dev/perase/presets/<preset>/}): diffusers' config files of each component
 * under one flat name ({@code unet_config.json}, ...). {@code make-model} writes them into a folder
 * with random weights; a single-file checkpoint without {@code --config} is read with them ({@link
 * SingleFileLayout}).
 */
public final class PresetConfigs {
  /** CompVis/stable-diffusion-v1-4's configurations: those of every SD v1.x checkpoint. */
  public static final String SD_V1 = "sd-v1.4";

  private PresetConfigs() {}

  /** The bundled file of {@code c}'s config: {@code unet_config.json}, ... */
  public static String fileName(Component c) {
    return switch (c) {
      case UNET -> "unet_config.json";
      case TEXT_ENCODER -> "text_encoder_config.json";
      case VAE -> "vae_config.json";
      case TOKENIZER -> "tokenizer_config.json";
      case SCHEDULER -> "scheduler_config.json";
    };
  }

  /** The classpath resource name of a preset's file, e.g. {@code model_index.json}. */
  public static String resource(String preset, String file) {
    return "/dev/perase/presets/" + preset + "/" + file;
  }

  /** Opens a preset's file; a name that is not bundled is a programming error. */
  public static InputStream open(String preset, String file) {
    String name = resource(preset, file);
    InputStream in = PresetConfigs.class.getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("missing resource " + name);
    }
    return in;
  }

  /** How errors and run configs name a preset's file: {@code perase preset sd-v1.4/...}. */
  public static String describe(String preset, String file) {
    return "perase preset " + preset + "/" + file;
  }
}

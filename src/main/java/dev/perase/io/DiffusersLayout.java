package dev.perase.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A Stable Diffusion pipeline folder in diffusers' layout ({@code save_pretrained}): {@code
 * model_index.json} names the components, each in its own sub-folder. Opening checks that the
 * components a text-to-image pipeline needs are there (unet, text_encoder, tokenizer, scheduler;
 * the vae is optional, a pixel-space model has none) and that each model component has its
 * safetensors weights. Pickle weights ({@code .bin}) are refused with the conversion hint.
 */
public final class DiffusersLayout implements ModelSource {
  /** The pipeline components perase uses, with their folder and weights file names. */
  public enum Component {
    UNET("unet", "diffusion_pytorch_model", "config.json"),
    TEXT_ENCODER("text_encoder", "model", "config.json"),
    VAE("vae", "diffusion_pytorch_model", "config.json"),
    TOKENIZER("tokenizer", null, "tokenizer_config.json"),
    SCHEDULER("scheduler", null, "scheduler_config.json");

    /** The key in model_index.json and the folder name. */
    public final String key;

    private final String weightsStem;
    private final String configName;

    Component(String key, String weightsStem, String configName) {
      this.key = key;
      this.weightsStem = weightsStem;
      this.configName = configName;
    }

    /** The config file's name in the component's folder. */
    String configName() {
      return configName;
    }

    /**
     * Whether this component has a weights file (the models do; tokenizer and scheduler do not).
     */
    public boolean hasWeights() {
      return weightsStem != null;
    }
  }

  private static final List<Component> REQUIRED =
      List.of(Component.UNET, Component.TEXT_ENCODER, Component.TOKENIZER, Component.SCHEDULER);

  /** The model components whose weights make up {@link #modelHash()}, in hashing order. */
  private static final List<Component> HASHED =
      List.of(Component.UNET, Component.TEXT_ENCODER, Component.VAE);

  private final Path dir;
  private final Map<Component, Path> folders;
  private final Map<Component, Path> weights;
  private volatile String modelHash;

  private DiffusersLayout(Path dir, Map<Component, Path> folders, Map<Component, Path> weights) {
    this.dir = dir;
    this.folders = folders;
    this.weights = weights;
  }

  /** Opens and checks a diffusers pipeline folder; every defect is a {@link BadInputException}. */
  public static DiffusersLayout open(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new BadInputException(
          "model folder "
              + dir
              + " does not exist (expected a diffusers pipeline folder with"
              + " model_index.json)");
    }
    Path index = dir.resolve("model_index.json");
    if (!Files.isRegularFile(index)) {
      throw new BadInputException(
          dir
              + " has no model_index.json, so it is not a diffusers pipeline folder (a single-file"
              + " checkpoint is a .safetensors file)");
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(index.toFile());
    } catch (IOException e) {
      String reason = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
      throw new BadInputException(index + " is not valid JSON: " + reason, e);
    }
    if (root == null || !root.isObject()) {
      throw new BadInputException(index + " is not a JSON object");
    }
    Map<Component, Path> folders = new EnumMap<>(Component.class);
    Map<Component, Path> weights = new EnumMap<>(Component.class);
    for (Component c : Component.values()) {
      if (!listed(index, root.get(c.key), c)) {
        if (REQUIRED.contains(c)) {
          throw new BadInputException(
              index
                  + " lists no "
                  + c.key
                  + "; a Stable Diffusion pipeline needs unet,"
                  + " text_encoder, tokenizer and scheduler");
        }
        continue;
      }
      Path folder = dir.resolve(c.key);
      if (!Files.isDirectory(folder)) {
        throw new BadInputException(
            index + " lists " + c.key + " but the folder " + folder + " is missing");
      }
      folders.put(c, folder);
      if (c.hasWeights()) {
        weights.put(c, findWeights(folder, c));
      }
    }
    return new DiffusersLayout(dir, folders, weights);
  }

  /**
   * Whether model_index.json lists a component: {@code ["library", "Class"]} does; an absent key,
   * {@code null} or {@code [null, null]} (diffusers' spelling for "none") does not.
   */
  private static boolean listed(Path index, JsonNode entry, Component c) {
    if (entry == null || entry.isNull()) {
      return false;
    }
    if (!entry.isArray() || entry.size() != 2) {
      throw new BadInputException(
          index + ": entry '" + c.key + "' should be [library, class], not " + entry);
    }
    return !(entry.get(0).isNull() && entry.get(1).isNull());
  }

  private static Path findWeights(Path folder, Component c) {
    Path safetensors = folder.resolve(c.weightsStem + ".safetensors");
    if (Files.isRegularFile(safetensors)) {
      return safetensors;
    }
    Path bin = folder.resolve(c.weightsStem + ".bin");
    if (Files.isRegularFile(bin)) {
      SafeTensors.refusePickle(bin);
    }
    if (Files.isRegularFile(folder.resolve(c.weightsStem + ".safetensors.index.json"))) {
      throw new BadInputException(
          folder
              + " holds sharded weights, which perase does not read; save the "
              + c.key
              + " unsharded (save_pretrained with a larger max_shard_size)");
    }
    throw new BadInputException("missing " + c.key + " weights " + safetensors);
  }

  public Path dir() {
    return dir;
  }

  @Override
  public Path path() {
    return dir;
  }

  @Override
  public Path configDir() {
    return null;
  }

  /** Whether the pipeline has the component (all but the vae always do). */
  public boolean has(Component c) {
    return folders.containsKey(c);
  }

  /** Whether there is a VAE; a pixel-space model has none. */
  @Override
  public boolean hasVae() {
    return has(Component.VAE);
  }

  /** The component's folder, e.g. {@code <dir>/unet}. */
  public Path folder(Component c) {
    Path f = folders.get(c);
    if (f == null) {
      throw new BadInputException(
          dir + " has no " + c.key + " (model_index.json does not list it)");
    }
    return f;
  }

  /** The component's config file: {@code config.json}, {@code scheduler_config.json}, ... */
  public Path config(Component c) {
    return folder(c).resolve(c.configName);
  }

  /**
   * The component's safetensors weights, e.g. {@code
   * <dir>/unet/diffusion_pytorch_model.safetensors}.
   */
  public Path weights(Component c) {
    if (!c.hasWeights()) {
      throw new IllegalArgumentException(c.key + " has no weights file");
    }
    folder(c);
    return weights.get(c);
  }

  /** {@code scheduler/scheduler_config.json}, with DDIMScheduler's defaults for omitted keys. */
  @Override
  public SchedulerConfig schedulerConfig() {
    return SchedulerConfig.read(config(Component.SCHEDULER));
  }

  @Override
  public <T> T readConfig(Component c, Class<T> type) {
    return Json.read(config(c), type);
  }

  @Override
  public JsonNode configTree(Component c) {
    return readTree(config(c));
  }

  /** A JSON object file; a missing, unreadable or non-object file is bad input naming it. */
  static JsonNode readTree(Path file) {
    try {
      JsonNode n = Json.MAPPER.readTree(file.toFile());
      if (n == null || !n.isObject()) {
        throw new BadInputException(file + " is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String describeConfig(Component c) {
    return config(c).toString();
  }

  @Override
  public Path tokenizerFolder() {
    return folder(Component.TOKENIZER);
  }

  /**
   * The model's identity, tying masks to the weights they were made for: SHA-256 (lowercase hex)
   * over, for each model component present in the order unet, text_encoder, vae, the UTF-8 text
   * {@code "<key>\n<byte length>\n"} followed by the bytes of its weights file. Streamed, so it
   * costs one read of the weights; computed once per layout.
   */
  @Override
  public String modelHash() {
    String h = modelHash;
    if (h == null) {
      MessageDigest sha = sha256();
      for (Component c : HASHED) {
        if (has(c)) {
          Path file = weights.get(c);
          try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            sha.update((c.key + "\n" + ch.size() + "\n").getBytes(StandardCharsets.UTF_8));
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) >= 0) {
              buf.flip();
              sha.update(buf);
              buf.clear();
            }
          } catch (IOException e) {
            throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
          }
        }
      }
      h = HexFormat.of().formatHex(sha.digest());
      modelHash = h;
    }
    return h;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "DiffusersLayout[" + dir + ", components " + folders.keySet() + "]";
  }
}

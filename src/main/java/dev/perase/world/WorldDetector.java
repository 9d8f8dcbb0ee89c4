package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.Linear;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Ops;
import dev.perase.tensor.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The world's concept detector (its NudeNet / style classifier / ResNet-50): per stage two 3×3
 * convs and a stride-2 3×3 conv, each followed by GroupNorm and SiLU; the last map is flattened
 * (shape needs the spatial layout, which global pooling would blur) into a linear feature layer
 * with SiLU, the penultimate features used for the world's Fréchet distance; three linear heads
 * give shape, colour and style logits.
 */
public final class WorldDetector {
  public static final String WEIGHTS = "model.safetensors";
  public static final String CONFIG = "config.json";

  private final DetectorConfig config;
  private final ParamSet params;
  private final List<Stage> stages = new ArrayList<>();
  private final Linear featureLayer;
  private final Linear shapeHead;
  private final Linear colorHead;
  private final Linear styleHead;

  /** One stage: (conv → norm → SiLU) × 2 → stride-2 conv → norm → SiLU. */
  private record Stage(
      Conv2d conv,
      GroupNorm norm,
      Conv2d conv2,
      GroupNorm norm2,
      Conv2d down,
      GroupNorm downNorm) {}

  /** Logits of the three heads, each (B, labels). */
  public record Logits(NDArray shape, NDArray color, NDArray style) {}

  private WorldDetector(DetectorConfig config, StateDict sd) {
    this.config = config;
    Weights w = sd.root();
    int in = 3;
    int g = config.normNumGroups();
    for (int i = 0; i < config.channels().size(); i++) {
      int c = config.channels().get(i);
      Weights s = w.child("stages").child(i);
      stages.add(
          new Stage(
              Conv2d.load(s.child("conv"), in, c, 3, 1, 1),
              GroupNorm.load(s.child("norm"), g, c, 1e-5f),
              Conv2d.load(s.child("conv2"), c, c, 3, 1, 1),
              GroupNorm.load(s.child("norm2"), g, c, 1e-5f),
              Conv2d.load(s.child("down"), c, c, 3, 2, 1),
              GroupNorm.load(s.child("down_norm"), g, c, 1e-5f)));
      in = c;
    }
    int flat = in * config.finalSize() * config.finalSize();
    featureLayer = Linear.load(w.child("features"), flat, config.featureDim());
    int f = config.featureDim();
    shapeHead = Linear.load(w.child("shape_head"), f, config.shapes().size());
    colorHead = Linear.load(w.child("color_head"), f, config.colors().size());
    styleHead = Linear.load(w.child("style_head"), f, config.styles().size());
    sd.requireAllUsed();
    this.params = sd.params();
  }

  /** Loads {@code config.json} and {@code model.safetensors} from a detector folder. */
  public static WorldDetector load(Path dir, NDManager manager) {
    DetectorConfig config = Json.read(dir.resolve(CONFIG), DetectorConfig.class);
    try (SafeTensors st = SafeTensors.open(dir.resolve(WEIGHTS))) {
      return new WorldDetector(config, StateDict.load(st, manager));
    }
  }

  /**
   * A freshly initialised detector: conv and linear weights drawn as torch's default
   * (Kaiming-uniform, bound 1/√fan_in for weights and biases), norms at weight 1, bias 0.
   */
  public static WorldDetector init(DetectorConfig config, NDManager manager, long seed) {
    Torch.seed(seed);
    Map<String, NDArray> t = new LinkedHashMap<>();
    int in = 3;
    for (int i = 0; i < config.channels().size(); i++) {
      int c = config.channels().get(i);
      String p = "stages." + i + ".";
      putConv(t, manager, p + "conv", in, c);
      putNorm(t, manager, p + "norm", c);
      putConv(t, manager, p + "conv2", c, c);
      putNorm(t, manager, p + "norm2", c);
      putConv(t, manager, p + "down", c, c);
      putNorm(t, manager, p + "down_norm", c);
      in = c;
    }
    int flat = in * config.finalSize() * config.finalSize();
    putLinear(t, manager, "features", flat, config.featureDim());
    int f = config.featureDim();
    putLinear(t, manager, "shape_head", f, config.shapes().size());
    putLinear(t, manager, "color_head", f, config.colors().size());
    putLinear(t, manager, "style_head", f, config.styles().size());
    return new WorldDetector(config, new StateDict("initial detector", t));
  }

  private static NDArray uniform(NDManager m, double bound, long... shape) {
    return m.randomUniform((float) -bound, (float) bound, new Shape(shape));
  }

  private static void putConv(Map<String, NDArray> t, NDManager m, String name, int in, int out) {
    double bound = 1 / Math.sqrt(in * 9.0);
    t.put(name + ".weight", uniform(m, bound, out, in, 3, 3));
    t.put(name + ".bias", uniform(m, bound, out));
  }

  private static void putLinear(Map<String, NDArray> t, NDManager m, String name, int in, int out) {
    double bound = 1 / Math.sqrt(in);
    t.put(name + ".weight", uniform(m, bound, out, in));
    t.put(name + ".bias", uniform(m, bound, out));
  }

  private static void putNorm(Map<String, NDArray> t, NDManager m, String name, int c) {
    t.put(name + ".weight", m.ones(new Shape(c)));
    t.put(name + ".bias", m.zeros(new Shape(c)));
  }

  public DetectorConfig config() {
    return config;
  }

  public ParamSet params() {
    return params;
  }

  /** Penultimate features (B, F) of images (B, 3, H, W) in [-1, 1]. */
  public NDArray features(NDArray images) {
    NDArray h = images;
    for (Stage s : stages) {
      h = Ops.silu(s.norm().forward(s.conv().forward(h)));
      h = Ops.silu(s.norm2().forward(s.conv2().forward(h)));
      h = Ops.silu(s.downNorm().forward(s.down().forward(h)));
    }
    return Ops.silu(
        featureLayer.forward(h.reshape(h.getShape().get(0), -1))); // (B, C·s·s) → (B, F)
  }

  public Logits forward(NDArray images) {
    NDArray f = features(images);
    return new Logits(shapeHead.forward(f), colorHead.forward(f), styleHead.forward(f));
  }

  /** The parameter arrays, for step scopes. */
  public NDList arrays() {
    return params.arrays();
  }

  /** Writes {@code config.json} and {@code model.safetensors} (F16 or F32) into {@code dir}. */
  public void save(Path dir, DType floatType) throws java.io.IOException {
    Files.createDirectories(dir);
    SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
    for (Param p : params.named().values()) {
      w.put(p.name(), p.value(), floatType);
    }
    w.write(dir.resolve(WEIGHTS));
    Json.write(dir.resolve(CONFIG), config);
  }
}

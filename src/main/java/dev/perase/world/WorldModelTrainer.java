package dev.perase.world;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.SchedulerConfig;
import dev.perase.model.clip.CLIPTextConfig;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.Init;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.StateDict;
import dev.perase.model.unet.UNet2DConditionConfig;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.pipeline.Schedulers;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.DdpmSchedule;
import dev.perase.tensor.AdamW;
import dev.perase.tensor.StepScope;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Trains the built-in world's text-to-image model from scratch: the same UNet2DConditionModel and
 * CLIPTextModel classes as Stable Diffusion, in pixel space (no VAE), jointly, with the DDPM
 * regression loss ‖y − f_θ(√ᾱ_t x₀ + √(1−ᾱ_t) ε, t, c)‖² where y is ε (DDPM Eq. 14) or, for the
 * world's scheduler config, the velocity v = √ᾱ_t ε − √(1−ᾱ_t) x₀, AdamW, caption dropout for
 * classifier-free guidance and an EMA of the weights. Every step's randomness is derived from
 * (seed, step), so a run resumed from its checkpoint continues exactly as an uninterrupted one.
 *
 * <p>The output folder is a diffusers-layout model (F16 EMA weights) plus {@code training/}: the
 * settings, {@code loss.jsonl} and the resumable checkpoint.
 */
public final class WorldModelTrainer {
  private static final String RESOURCES = "/dev/perase/world/";
  private static final String CHECKPOINT = "training/checkpoint.safetensors";

  private final Path out;
  private final WorldTrainSettings settings;
  private final NDManager manager;
  private final CLIPTokenizer tokenizer;
  private final CLIPTextModel textEncoder;
  private final UNet2DConditionModel unet;
  private final DdimScheduler scheduler;
  private final DdpmSchedule schedule;
  private final TimestepSampling.Sampler timestepSampler;
  private final List<Param> params = new ArrayList<>();
  private final List<NDArray> ema = new ArrayList<>();
  private final AdamW optimizer;
  private int step;
  private int skipped;
  private int skippedInARow;
  private static final int MAX_SKIPPED_IN_A_ROW = 5;

  /** The held-out probe batch of {@link #conditioningGap}: a dataset seed no training run uses. */
  private static final long PROBE_SEED = 0x5EEDL;

  private static final int PROBE_SIZE = 32;

  private WorldModelTrainer(Path out, WorldTrainSettings settings, NDManager manager) {
    this.out = out;
    this.settings = settings;
    this.manager = manager;
    writeSkeleton(out);
    this.tokenizer = CLIPTokenizer.load(out.resolve("tokenizer"));
    CLIPTextConfig textConfig =
        Json.read(out.resolve("text_encoder/config.json"), CLIPTextConfig.class);
    UNet2DConditionConfig unetConfig =
        Json.read(out.resolve("unet/config.json"), UNet2DConditionConfig.class);
    this.scheduler =
        Schedulers.ddim(SchedulerConfig.read(out.resolve("scheduler/scheduler_config.json")));
    this.schedule = scheduler.schedule();
    this.timestepSampler = settings.timesteps().sampler(schedule);
    Torch.seed(settings.seed());
    this.textEncoder =
        CLIPTextModel.fromStateDict(
            textConfig, StateDict.fresh("new text encoder", Init.torchDefaults(manager)));
    this.unet =
        UNet2DConditionModel.fromStateDict(
            unetConfig, StateDict.fresh("new unet", Init.torchDefaults(manager)));
    params.addAll(textEncoder.params().named().values());
    params.addAll(unet.params().named().values());
    List<NDArray> values = new ArrayList<>();
    for (Param p : params) {
      p.value().setRequiresGradient(true);
      values.add(p.value());
      ema.add(p.value().duplicate());
    }
    this.optimizer =
        new AdamW(
            values, manager, settings.learningRate(), 0.9, 0.999, 1e-8, settings.weightDecay());
    resumeIfPossible();
  }

  /**
   * Trains (or resumes) into {@code out} and writes the model; {@code onStep} hears every finished
   * step (1-based). Returns the losses of the steps run in this call.
   */
  public static List<Float> train(Path out, WorldTrainSettings settings, IntConsumer onStep) {
    try (NDManager manager = Torch.newManager()) {
      WorldModelTrainer t = new WorldModelTrainer(out, settings, manager);
      return t.run(onStep);
    }
  }

  /** Steps a resumable run in {@code out} has already done: 0 without a checkpoint. */
  public static int stepsDone(Path out) {
    Path ckpt = out.resolve(CHECKPOINT);
    if (!Files.exists(ckpt)) {
      return 0;
    }
    try (SafeTensors st = SafeTensors.open(ckpt)) {
      return Integer.parseInt(st.metadata().getOrDefault("step", "0"));
    } catch (NumberFormatException e) {
      throw new BadInputException("checkpoint " + ckpt + " has a bad step: " + e.getMessage(), e);
    }
  }

  /**
   * Folders, configs and the tokenizer of the world model (the tokenizer made by perase itself).
   */
  private static void writeSkeleton(Path out) {
    try {
      Files.createDirectories(out.resolve("training"));
      Path tok = out.resolve("tokenizer");
      if (!Files.exists(tok.resolve("vocab.json"))) {
        WorldTokenizerBuilder.write(tok);
      }
      CLIPTokenizer tokenizer = CLIPTokenizer.load(tok);
      copyResource("model_index.json", out.resolve("model_index.json"));
      copyResource("scheduler_config.json", out.resolve("scheduler/scheduler_config.json"));
      copyResource("unet_config.json", out.resolve("unet/config.json"));
      // the text encoder's vocabulary and special ids follow the tokenizer just made
      ObjectNode te = (ObjectNode) Json.MAPPER.readTree(resource("text_encoder_config.json"));
      te.put("vocab_size", tokenizer.vocabSize());
      te.put("bos_token_id", tokenizer.bosId());
      te.put("eos_token_id", tokenizer.eosId());
      te.put("pad_token_id", tokenizer.padId());
      Files.createDirectories(out.resolve("text_encoder"));
      Json.write(out.resolve("text_encoder/config.json"), te);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = WorldModelTrainer.class.getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void copyResource(String name, Path target) throws IOException {
    Files.createDirectories(target.getParent());
    AtomicFile.writeString(target, resource(name));
  }

  private List<Float> run(IntConsumer onStep) {
    WorldDataset data = new WorldDataset(settings.seed());
    WorldBatch probe = new WorldDataset(settings.seed() + PROBE_SEED).batch(0, PROBE_SIZE);
    List<Float> losses = new ArrayList<>();
    Path log = out.resolve("training/loss.jsonl");
    NDList persistent = new NDList();
    for (Param p : params) {
      persistent.add(p.value());
    }
    persistent.addAll(new NDList(ema.toArray(new NDArray[0])));
    persistent.addAll(new NDList(optimizer.expAvg().toArray(new NDArray[0])));
    persistent.addAll(new NDList(optimizer.expAvgSq().toArray(new NDArray[0])));
    long t0 = System.nanoTime();
    while (step < settings.steps()) {
      float loss;
      try (StepScope scope = StepScope.open(manager, persistent)) {
        loss = trainStep(data.batch(step, settings.batchSize()), scope.manager());
      }
      step++;
      losses.add(loss);
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (step % settings.checkpointEvery() == 0 || step == settings.steps()) {
        appendLog(log, step, loss, seconds, conditioningGap(probe));
        saveCheckpoint();
      } else {
        appendLog(log, step, loss, seconds, null);
      }
      if (onStep != null) {
        onStep.accept(step);
      }
    }
    saveModel();
    return losses;
  }

  /** One optimisation step on a batch; returns the loss. */
  private float trainStep(WorldBatch batch, NDManager m) {
    int b = batch.size();
    SplittableRandom rng = new SplittableRandom(settings.seed() * 1_000_003L + step);
    // 1. captions, some dropped to "" so the model also learns the unconditional ε
    List<String> captions = new ArrayList<>(b);
    for (String c : batch.captions()) {
      captions.add(rng.nextDouble() < settings.captionDropout() ? "" : c);
    }
    NDArray ids = m.create(tokenizer.encode(captions));
    // 2. x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε at timesteps drawn as the settings say
    int[] t = new int[b];
    float[] tf = new float[b];
    for (int i = 0; i < b; i++) {
      t[i] = timestepSampler.sample(rng);
      tf[i] = t[i];
    }
    NDArray x0 = batch.images(m);
    Torch.seed(rng.nextLong());
    NDArray noise = m.randomNormal(x0.getShape());
    NDArray xt = schedule.addNoise(x0, noise, t);
    NDArray timesteps = m.create(tf);
    NDArray target = scheduler.target(x0, noise, t);
    // 3. loss and update
    optimizer.setLearningRate(settings.learningRateAt(step));
    float loss;
    try (GradientCollector gc = Torch.engine().newGradientCollector()) {
      NDArray context = textEncoder.forward(ids);
      NDArray pred = unet.forward(xt, timesteps, context);
      NDArray diff = pred.sub(target);
      NDArray l = diff.mul(diff).mean();
      loss = l.getFloat();
      gc.backward(l);
    }
    // a non-finite loss or gradient skips the update (as a loss scaler does); several in a row
    // abort
    if (!Float.isFinite(loss) || !gradientsFinite()) {
      optimizer.zeroGrad();
      if (++skippedInARow > MAX_SKIPPED_IN_A_ROW) {
        throw new IllegalStateException(
            "training diverged at step " + step + " (loss " + loss + ")");
      }
      skipped++;
      return loss;
    }
    skippedInARow = 0;
    optimizer.step();
    optimizer.zeroGrad();
    // 4. EMA: θ̄ ← d θ̄ + (1 − d) θ, d = min(decay, (1 + n) / (10 + n)) as diffusers' EMAModel
    float d = (float) Math.min(settings.emaDecay(), (1.0 + step) / (10.0 + step));
    for (int i = 0; i < params.size(); i++) {
      ema.get(i).muli(d).addi(params.get(i).value().mul(1 - d));
    }
    return loss;
  }

  /**
   * How much the prompt helps: on a fixed held-out batch at high noise (t = 999, 800, 600, where
   * the prompt is the only source of the image's colour and shape), the loss with each image's
   * caption shifted to another image minus the loss with its own caption, relative to the latter.
   * Near 0 while the model ignores its prompts; it grows as it learns to read them.
   */
  private double conditioningGap(WorldBatch probe) {
    try (NDManager m = manager.newSubManager()) {
      int b = probe.size();
      List<String> shifted = new ArrayList<>(probe.captions());
      java.util.Collections.rotate(shifted, 1);
      NDArray own = textEncoder.forward(m.create(tokenizer.encode(probe.captions())));
      NDArray other = textEncoder.forward(m.create(tokenizer.encode(shifted)));
      NDArray x0 = probe.images(m);
      double ownLoss = 0;
      double otherLoss = 0;
      for (int tt : new int[] {999, 800, 600}) {
        int[] t = new int[b];
        java.util.Arrays.fill(t, tt);
        Torch.seed(settings.seed() + tt);
        NDArray noise = m.randomNormal(x0.getShape());
        NDArray xt = schedule.addNoise(x0, noise, t);
        NDArray target = scheduler.target(x0, noise, t);
        NDArray ts = m.full(new ai.djl.ndarray.types.Shape(b), (float) tt);
        ownLoss += squaredError(unet.forward(xt, ts, own), target);
        otherLoss += squaredError(unet.forward(xt, ts, other), target);
      }
      return (otherLoss - ownLoss) / ownLoss;
    }
  }

  private static double squaredError(NDArray pred, NDArray target) {
    NDArray d = pred.sub(target);
    return d.mul(d).mean().getFloat();
  }

  private boolean gradientsFinite() {
    for (Param p : params) {
      try (NDArray g = p.value().getGradient();
          NDArray s = g.abs().sum()) {
        if (!Float.isFinite(s.getFloat())) {
          return false;
        }
      }
    }
    return true;
  }

  private static void appendLog(Path log, int step, float loss, double seconds, Double gap) {
    String gapField =
        gap == null ? "" : String.format(java.util.Locale.ROOT, ",\"conditioning_gap\":%.5f", gap);
    String line =
        Float.isFinite(loss)
            ? String.format(
                java.util.Locale.ROOT,
                "{\"step\":%d,\"loss\":%.6f,\"seconds\":%.2f%s}%n",
                step,
                loss,
                seconds,
                gapField)
            : String.format(
                java.util.Locale.ROOT,
                "{\"step\":%d,\"loss\":null,\"skipped\":true,\"seconds\":%.2f}%n",
                step,
                seconds);
    try {
      Files.writeString(
          log,
          line,
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void saveCheckpoint() {
    SafeTensorsWriter w = new SafeTensorsWriter();
    w.metadata("step", Integer.toString(step));
    try {
      w.metadata("settings", Json.MAPPER.writeValueAsString(settings));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    for (int i = 0; i < params.size(); i++) {
      String n = params.get(i).name();
      w.put("param/" + n, params.get(i).value());
      w.put("ema/" + n, ema.get(i));
      w.put("adam_m/" + n, optimizer.expAvg().get(i));
      w.put("adam_v/" + n, optimizer.expAvgSq().get(i));
    }
    w.write(out.resolve(CHECKPOINT));
  }

  private void resumeIfPossible() {
    Path ckpt = out.resolve(CHECKPOINT);
    Path log = out.resolve("training/loss.jsonl");
    if (!Files.exists(ckpt)) {
      try {
        Files.deleteIfExists(log);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return;
    }
    try (SafeTensors st = SafeTensors.open(ckpt)) {
      String saved = st.metadata().get("settings");
      WorldTrainSettings before = Json.MAPPER.readValue(saved, WorldTrainSettings.class);
      // a resumed run may go on for more steps and draw its timesteps otherwise (a new phase)
      if (!before
          .withSteps(settings.steps())
          .withTimesteps(settings.timesteps())
          .equals(settings)) {
        throw new BadInputException(
            ckpt
                + " was made with other settings ("
                + saved
                + "); use another --out or the same settings");
      }
      step = Integer.parseInt(st.metadata().get("step"));
      for (int i = 0; i < params.size(); i++) {
        String n = params.get(i).name();
        copyInto(st, "param/" + n, params.get(i).value());
        copyInto(st, "ema/" + n, ema.get(i));
        copyInto(st, "adam_m/" + n, optimizer.expAvg().get(i));
        copyInto(st, "adam_v/" + n, optimizer.expAvgSq().get(i));
      }
      optimizer.setStepCount(step);
      truncateLog(log, step);
    } catch (IOException e) {
      throw new BadInputException("cannot read checkpoint " + ckpt + ": " + e.getMessage(), e);
    }
  }

  private void copyInto(SafeTensors st, String key, NDArray target) {
    try (NDManager tmp = manager.newSubManager()) {
      NDArray v = st.load(key, tmp);
      // in place: NDArray.set(float[]) would repoint the tensor at a Java buffer that later dies
      target.muli(0).addi(v);
    }
  }

  private static void truncateLog(Path log, int step) throws IOException {
    if (!Files.exists(log)) {
      return;
    }
    List<String> keep = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      var node = Json.MAPPER.readTree(line);
      if (node.get("step").asInt() <= step) {
        keep.add(line);
      }
    }
    AtomicFile.writeString(log, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
  }

  /** Writes the EMA weights as F16 safetensors under diffusers keys. */
  private void saveModel() {
    for (int i = 0; i < params.size(); i++) {
      try (NDArray sum = ema.get(i).abs().sum()) {
        if (!Float.isFinite(sum.getFloat())) {
          throw new IllegalStateException(
              "EMA weights of " + params.get(i).name() + " are not finite");
        }
      }
    }
    Map<String, NDArray> text = new LinkedHashMap<>();
    Map<String, NDArray> u = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      String n = params.get(i).name();
      (textEncoder.params().named().containsKey(n) ? text : u).put(n, ema.get(i));
    }
    SafeTensorsWriter tw = new SafeTensorsWriter().metadata("format", "pt");
    text.forEach((k, v) -> tw.put(k, v, DType.F16));
    tw.write(out.resolve("text_encoder/model.safetensors"));
    SafeTensorsWriter uw = new SafeTensorsWriter().metadata("format", "pt");
    u.forEach((k, v) -> uw.put(k, v, DType.F16));
    uw.write(out.resolve("unet/diffusion_pytorch_model.safetensors"));
    Json.write(out.resolve("training/settings.json"), settings);
  }
}

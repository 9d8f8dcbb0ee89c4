package dev.perase.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Conv2d;
import dev.perase.model.nn.GroupNorm;
import dev.perase.model.nn.ParamSet;
import dev.perase.model.nn.StateDict;
import dev.perase.model.nn.Taps;
import dev.perase.model.nn.Weights;
import dev.perase.tensor.Checkpoint;
import dev.perase.tensor.Ops;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * diffusers' {@code UNet2DConditionModel} (v0.30.3) for Stable Diffusion v1.x/v2.x: the noise
 * prediction ε_θ(x_t, t, c) of a latent x_t at timestep t conditioned on text states c.
 *
 * <p>Every module output named in diffusers' module tree is reported to {@link Taps} under its
 * module path ({@code time_proj}, {@code conv_in}, {@code
 * down_blocks.1.attentions.0.transformer_blocks.0.attn2}, ...), every ResnetBlock2D also reports
 * the input of its conv2 as {@code <path>.conv2_input}, and every cross attention ({@code attn2})
 * its attention probabilities over the text tokens as {@code <path>.attention_probs}, (B, heads,
 * HW, 77), just before they multiply the values.
 */
public final class UNet2DConditionModel {
  private final UNet2DConditionConfig config;
  private final ParamSet params;
  public final Conv2d convIn;
  public final Timesteps timeProj;
  public final TimestepEmbedding timeEmbedding;
  public final List<UNetDownBlock> downBlocks;
  public final UNetMidBlock2DCrossAttn midBlock;
  public final List<UNetUpBlock> upBlocks;
  public final GroupNorm convNormOut;
  public final Conv2d convOut;

  private UNet2DConditionModel(UNet2DConditionConfig cfg, Weights w, ParamSet params) {
    this.config = cfg;
    this.params = params;
    int n = cfg.numBlocks();
    List<Integer> boc = cfg.blockOutChannels();
    int groups = cfg.normNumGroups();
    float eps = (float) (double) cfg.normEps();
    int temb = cfg.timeEmbedDim();
    boolean linearProj = cfg.useLinearProjection();

    // modules in diffusers' registration order (conv_in, time, down, up, mid, out), so params()
    // lists the keys in the order of named_parameters()
    int kIn = cfg.convInKernel();
    convIn = Conv2d.load(w.child("conv_in"), cfg.inChannels(), boc.get(0), kIn, 1, (kIn - 1) / 2);
    timeProj = new Timesteps(boc.get(0), cfg.flipSinToCos(), cfg.freqShift());
    timeEmbedding = TimestepEmbedding.load(w.child("time_embedding"), boc.get(0), temb);

    List<UNetDownBlock> down = new ArrayList<>();
    int outputChannel = boc.get(0);
    for (int i = 0; i < n; i++) {
      int inputChannel = outputChannel;
      outputChannel = boc.get(i);
      boolean isFinalBlock = i == n - 1;
      Weights b = w.child("down_blocks").child(i);
      if (UNet2DConditionConfig.CROSS_ATTN_DOWN_BLOCK_2D.equals(cfg.downBlockTypes().get(i))) {
        down.add(
            CrossAttnDownBlock2D.load(
                b,
                cfg.layersPerBlock().get(i),
                cfg.transformerLayersPerBlock().get(i),
                inputChannel,
                outputChannel,
                temb,
                !isFinalBlock,
                eps,
                groups,
                cfg.downsamplePadding(),
                cfg.crossAttentionDim().get(i),
                cfg.heads(i),
                linearProj));
      } else {
        down.add(
            DownBlock2D.load(
                b,
                cfg.layersPerBlock().get(i),
                inputChannel,
                outputChannel,
                temb,
                !isFinalBlock,
                eps,
                groups,
                cfg.downsamplePadding()));
      }
    }
    downBlocks = List.copyOf(down);

    List<UNetUpBlock> up = new ArrayList<>();
    outputChannel = boc.get(n - 1);
    for (int i = 0; i < n; i++) {
      int r = n - 1 - i; // index into the (un-reversed) per-block settings
      boolean isFinalBlock = i == n - 1;
      int prevOutputChannel = outputChannel;
      outputChannel = boc.get(r);
      int inputChannel = boc.get(Math.max(r - 1, 0));
      Weights b = w.child("up_blocks").child(i);
      int numLayers = cfg.layersPerBlock().get(r) + 1;
      if (UNet2DConditionConfig.CROSS_ATTN_UP_BLOCK_2D.equals(cfg.upBlockTypes().get(i))) {
        up.add(
            CrossAttnUpBlock2D.load(
                b,
                numLayers,
                cfg.transformerLayersPerBlock().get(r),
                inputChannel,
                outputChannel,
                prevOutputChannel,
                temb,
                !isFinalBlock,
                eps,
                groups,
                cfg.crossAttentionDim().get(r),
                cfg.heads(r),
                linearProj));
      } else {
        up.add(
            UpBlock2D.load(
                b,
                numLayers,
                inputChannel,
                outputChannel,
                prevOutputChannel,
                temb,
                !isFinalBlock,
                eps,
                groups));
      }
    }
    upBlocks = List.copyOf(up);

    midBlock =
        UNetMidBlock2DCrossAttn.load(
            w.child("mid_block"),
            boc.get(n - 1),
            temb,
            eps,
            groups,
            cfg.midBlockScaleFactor(),
            cfg.transformerLayersPerBlock().get(n - 1),
            cfg.crossAttentionDim().get(n - 1),
            cfg.heads(n - 1),
            linearProj);

    convNormOut = GroupNorm.load(w.child("conv_norm_out"), groups, boc.get(0), eps);
    int kOut = cfg.convOutKernel();
    convOut =
        Conv2d.load(w.child("conv_out"), boc.get(0), cfg.outChannels(), kOut, 1, (kOut - 1) / 2);
  }

  /**
   * Loads {@code unetDir/config.json} and {@code unetDir/diffusion_pytorch_model.safetensors} (F32,
   * F16 or BF16; weights become float32 arrays of {@code manager}). A folder with only the pickle
   * {@code .bin} is refused.
   */
  public static UNet2DConditionModel load(Path unetDir, NDManager manager) {
    UNet2DConditionConfig cfg =
        Json.read(unetDir.resolve("config.json"), UNet2DConditionConfig.class);
    Path weights = unetDir.resolve("diffusion_pytorch_model.safetensors");
    if (!Files.isRegularFile(weights)) {
      Path bin = unetDir.resolve("diffusion_pytorch_model.bin");
      if (Files.isRegularFile(bin)) {
        SafeTensors.refusePickle(bin);
      }
      throw new BadInputException("missing " + weights);
    }
    try (SafeTensors file = SafeTensors.open(weights)) {
      return fromStateDict(cfg, StateDict.load(file, manager));
    }
  }

  /**
   * Builds the model from a state dict with diffusers' keys. Strict: a missing key or a wrong shape
   * fails naming the key, and so does any key left unused.
   */
  public static UNet2DConditionModel fromStateDict(UNet2DConditionConfig cfg, StateDict sd) {
    UNet2DConditionModel model = new UNet2DConditionModel(cfg, sd.root(), sd.params());
    sd.requireAllUsed();
    return model;
  }

  public UNet2DConditionConfig config() {
    return config;
  }

  private volatile boolean checkpointing;

  /**
   * Whether training passes (erasing) recompute the activations layer by layer ({@link
   * #lossBackwardCheckpointed}) instead of keeping them all: less memory, one more forward.
   */
  public void checkpointActivations(boolean on) {
    checkpointing = on;
  }

  /** See {@link #checkpointActivations}. */
  public boolean checkpointsActivations() {
    return checkpointing;
  }

  /** The parameters by full dotted diffusers key, with the masking switch. */
  public ParamSet params() {
    return params;
  }

  /** {@link #forward(NDArray, NDArray, NDArray, Taps)} without taps. */
  public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates) {
    return forward(sample, timestep, encoderHiddenStates, Taps.NONE);
  }

  /**
   * The noise prediction.
   *
   * @param sample latents (B, in_channels, H, W)
   * @param timestep a scalar or size-1 array (used for the whole batch) or (B,), integer or float
   * @param encoderHiddenStates text states (B, M, cross_attention_dim)
   * @return (B, out_channels, H, W)
   */
  public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates, Taps taps) {
    checkSample(sample);
    if (taps == Taps.NONE && !JniUtils.isGradMode()) {
      return forwardByLayers(sample, timestep, encoderHiddenStates);
    }
    long[] shape = sample.getShape().getShape();
    long batch = shape[0];

    // The sides must be multiples of 2^num_upsamplers for plain 2× upsampling; otherwise each
    // upsampler resizes to the size of the skip connection it meets (diffusers'
    // forward_upsample_size).
    long overallUpFactor = 1L << config.numUpsamplers();
    boolean forwardUpsampleSize =
        shape[2] % overallUpFactor != 0 || shape[3] % overallUpFactor != 0;

    // 0. center input if necessary
    if (config.centerInputSample()) {
      sample = sample.mul(2f).sub(1f);
    }

    // 1. time: t → (B,) → sinusoidal (B, C0) → MLP (B, temb)
    NDArray timesteps = broadcastTimesteps(timestep, batch);
    NDArray tEmb = timeProj.forward(timesteps);
    taps.record("time_proj", tEmb);
    NDArray emb = timeEmbedding.forward(tEmb);
    taps.record("time_embedding", emb);

    // 2. pre-process
    sample = convIn.forward(sample);
    taps.record("conv_in", sample);

    // 3. down: every block pushes its skip states
    List<NDArray> downBlockResSamples = new ArrayList<>();
    downBlockResSamples.add(sample);
    for (UNetDownBlock downBlock : downBlocks) {
      UNetDownBlock.Output out = downBlock.forward(sample, emb, encoderHiddenStates, taps);
      sample = out.hiddenStates();
      downBlockResSamples.addAll(out.outputStates());
    }

    // 4. mid
    sample = midBlock.forward(sample, emb, encoderHiddenStates, taps);

    // 5. up: every block pops one skip per resnet
    for (int i = 0; i < upBlocks.size(); i++) {
      UNetUpBlock upBlock = upBlocks.get(i);
      boolean isFinalBlock = i == upBlocks.size() - 1;
      int from = downBlockResSamples.size() - upBlock.numResnets();
      List<NDArray> resSamples =
          new ArrayList<>(downBlockResSamples.subList(from, downBlockResSamples.size()));
      downBlockResSamples.subList(from, downBlockResSamples.size()).clear();
      long[] upsampleSize = null;
      if (!isFinalBlock && forwardUpsampleSize) {
        long[] skip = downBlockResSamples.get(downBlockResSamples.size() - 1).getShape().getShape();
        upsampleSize = new long[] {skip[2], skip[3]};
      }
      sample = upBlock.forward(sample, resSamples, emb, encoderHiddenStates, upsampleSize, taps);
    }

    // 6. post-process: GroupNorm → SiLU → conv_out
    sample = convNormOut.forward(sample);
    taps.record("conv_norm_out", sample);
    sample = Ops.silu(sample);
    sample = convOut.forward(sample);
    taps.record("conv_out", sample);
    return sample;
  }

  /**
   * {@code loss.apply(forward(sample, timestep, encoderHiddenStates))} and its backward, with the
   * activations recomputed layer by layer ({@link Checkpoint}): the forward runs without recording,
   * keeping only what enters and leaves each segment ({@link #segments}: one per layer, the last
   * with the output layers); backward re-runs one segment at a time, the last one computing the
   * loss. Peak memory holds one layer's activations instead of all of them (at 64×64 latents the
   * self-attention scores of one transformer), for one more forward. Call it inside gradient
   * recording; the gradients of the trained leaves (weights, a mask's products) accumulate as after
   * {@code backward(loss)}, equal within float rounding (the gradients of the time embedding and of
   * a state that two segments read, a skip, are summed in another order); the sample and the text
   * states get none.
   *
   * @return the loss
   */
  public float lossBackwardCheckpointed(
      NDArray sample, NDArray timestep, NDArray encoderHiddenStates, UnaryOperator<NDArray> loss) {
    return lossBackwardCheckpointed(sample, timestep, encoderHiddenStates, loss, keys -> {});
  }

  /**
   * {@link #lossBackwardCheckpointed(NDArray, NDArray, NDArray, UnaryOperator)} that tells, after
   * each segment's backward, which parameters' gradients are then complete: {@code gradientsDone}
   * hears the key prefixes of that segment's parameters (e.g. {@code "up_blocks.1.resnets.0."}; a
   * segment's parameters are read by it alone), and at the end those of the time embedding. A
   * trainer can then use and free what it holds per parameter of that segment before the next
   * segment's backward.
   */
  public float lossBackwardCheckpointed(
      NDArray sample,
      NDArray timestep,
      NDArray encoderHiddenStates,
      UnaryOperator<NDArray> loss,
      Consumer<List<String>> gradientsDone) {
    checkSample(sample);
    if (config.centerInputSample()) {
      sample = sample.mul(2f).sub(1f);
    }
    Checkpoint cp = new Checkpoint(sample.getManager());
    // the time embedding's small graph is recorded once and kept to the end
    NDArray emb =
        timeEmbedding.forward(
            timeProj.forward(broadcastTimesteps(timestep, sample.getShape().get(0))));
    NDArray ctx = encoderHiddenStates;
    Segments plan = segments(cp, sample, emb, ctx);

    // backward: the last segment computes the loss, then every segment in reverse
    Set<NDArray> lastNeed = Checkpoint.identitySet(plan.lastIn);
    lastNeed.remove(ctx);
    float value = cp.backwardFromLoss(plan.lastIn, lastNeed, x -> loss.apply(plan.last.apply(x)));
    gradientsDone.accept(plan.lastKeys);
    for (int k = plan.fs.size() - 1; k >= 0; k--) {
      Set<NDArray> need = Checkpoint.identitySet(plan.ins.get(k));
      need.remove(ctx);
      if (k == 0) {
        need.remove(sample);
      }
      cp.backward(plan.ins.get(k), plan.outs.get(k), need, plan.fs.get(k));
      gradientsDone.accept(plan.keys.get(k));
    }
    NDArray gEmb = cp.gradient(emb);
    if (gEmb != null) {
      // a no-op when the time embedding is not trained
      Checkpoint.backward(List.of(emb), List.of(gEmb));
    }
    gradientsDone.accept(List.of("time_embedding.", "time_proj."));
    return value;
  }

  /**
   * The UNet cut into checkpoint segments, run forward without recording up to the last one: every
   * segment's inputs, outputs, function and parameter key prefixes, and the last segment's inputs,
   * function (the last layer of the last up block with the output layers, giving the prediction)
   * and key prefixes.
   */
  private record Segments(
      List<List<NDArray>> ins,
      List<List<NDArray>> outs,
      List<Function<List<NDArray>, List<NDArray>>> fs,
      List<List<String>> keys,
      List<NDArray> lastIn,
      Function<List<NDArray>, NDArray> last,
      List<String> lastKeys) {

    private Segments() {
      this(
          new ArrayList<>(),
          new ArrayList<>(),
          new ArrayList<>(),
          new ArrayList<>(),
          null,
          null,
          null);
    }

    /** Runs {@code f} as the next segment ({@link Checkpoint#forward}) and returns its outputs. */
    List<NDArray> run(
        Checkpoint cp, List<NDArray> in, Function<List<NDArray>, List<NDArray>> f, String... k) {
      List<NDArray> out = cp.forward(in, f);
      ins.add(in);
      outs.add(out);
      fs.add(f);
      keys.add(List.of(k));
      return out;
    }
  }

  /**
   * Runs the UNet layer by layer as {@link Checkpoint#forward} segments, each freeing its
   * intermediates: conv_in with the first layer, then every layer of the down blocks (a resnet and
   * its transformer), every downsampler, the mid block's layers, every layer of the up blocks (the
   * skip concatenated, a resnet and its transformer) and every upsampler, up to the last layer. One
   * layer's activations and, in a checkpointed backward, one layer's gradients are held at a time;
   * the operations and their order are the whole forward's.
   */
  private Segments segments(Checkpoint cp, NDArray sample, NDArray emb, NDArray ctx) {
    long[] shape = sample.getShape().getShape();
    long overallUpFactor = 1L << config.numUpsamplers();
    boolean forwardUpsampleSize =
        shape[2] % overallUpFactor != 0 || shape[3] % overallUpFactor != 0;
    Segments plan = new Segments();
    List<NDArray> stack = new ArrayList<>();
    NDArray h = sample;
    for (int d = 0; d < downBlocks.size(); d++) {
      UNetDownBlock block = downBlocks.get(d);
      String key = "down_blocks." + d + ".";
      for (int i = 0; i < block.numLayers(); i++) {
        int layer = i;
        boolean first = d == 0 && i == 0;
        List<NDArray> out =
            plan.run(
                cp,
                List.of(h, emb, ctx),
                in -> {
                  NDArray x = in.get(0);
                  List<NDArray> o = new ArrayList<>();
                  if (first) {
                    x = convIn.forward(x);
                    o.add(x);
                  }
                  o.add(block.layer(layer, x, in.get(1), in.get(2), Taps.NONE));
                  return o;
                },
                first ? withConvIn(layerKeys(key, i)) : layerKeys(key, i));
        stack.addAll(out);
        h = out.get(out.size() - 1);
      }
      if (block.downsampler() != null) {
        h =
            plan.run(
                    cp,
                    List.of(h),
                    in -> List.of(block.downsampler().forward(in.get(0), Taps.NONE)),
                    key + "downsamplers.")
                .get(0);
        stack.add(h);
      }
    }
    for (int k = 0; k < midBlock.numLayers(); k++) {
      int layer = k;
      h =
          plan.run(
                  cp,
                  List.of(h, emb, ctx),
                  in -> List.of(midBlock.layer(layer, in.get(0), in.get(1), in.get(2), Taps.NONE)),
                  k == 0
                      ? new String[] {"mid_block.resnets.0."}
                      : new String[] {
                        "mid_block.attentions." + (k - 1) + ".", "mid_block.resnets." + k + "."
                      })
              .get(0);
    }
    int lastBlock = upBlocks.size() - 1;
    for (int b = 0; ; b++) {
      UNetUpBlock block = upBlocks.get(b);
      String key = "up_blocks." + b + ".";
      for (int i = 0; i < block.numResnets(); i++) {
        int layer = i;
        NDArray skip = stack.remove(stack.size() - 1);
        String[] layerKeys = layerKeys(key, i);
        if (b == lastBlock && i == block.numResnets() - 1) {
          List<String> lastKeys = new ArrayList<>(List.of(layerKeys));
          lastKeys.addAll(List.of(key + "upsamplers.", "conv_norm_out.", "conv_out."));
          return new Segments(
              plan.ins,
              plan.outs,
              plan.fs,
              plan.keys,
              List.of(h, emb, ctx, skip),
              x -> {
                NDArray y = block.layer(layer, x.get(0), x.get(3), x.get(1), x.get(2), Taps.NONE);
                if (block.upsampler() != null) {
                  y = block.upsampler().forward(y, null, Taps.NONE); // none in diffusers' UNets
                }
                return convOut.forward(Ops.silu(convNormOut.forward(y)));
              },
              List.copyOf(lastKeys));
        }
        h =
            plan.run(
                    cp,
                    List.of(h, emb, ctx, skip),
                    in ->
                        List.of(
                            block.layer(
                                layer, in.get(0), in.get(3), in.get(1), in.get(2), Taps.NONE)),
                    layerKeys)
                .get(0);
      }
      if (block.upsampler() != null) {
        long[] upsampleSize = null;
        if (b != lastBlock && forwardUpsampleSize) {
          long[] next = stack.get(stack.size() - 1).getShape().getShape();
          upsampleSize = new long[] {next[2], next[3]};
        }
        long[] size = upsampleSize;
        h =
            plan.run(
                    cp,
                    List.of(h),
                    in -> List.of(block.upsampler().forward(in.get(0), size, Taps.NONE)),
                    key + "upsamplers.")
                .get(0);
      }
    }
  }

  /** The key prefixes of layer {@code i} of the block whose keys start with {@code block}. */
  private static String[] layerKeys(String block, int i) {
    return new String[] {block + "resnets." + i + ".", block + "attentions." + i + "."};
  }

  private static String[] withConvIn(String[] keys) {
    return new String[] {"conv_in.", keys[0], keys[1]};
  }

  private void checkSample(NDArray sample) {
    long[] shape = sample.getShape().getShape();
    if (shape.length != 4 || shape[1] != config.inChannels()) {
      throw new IllegalArgumentException(
          "sample must be (B, " + config.inChannels() + ", H, W), got " + sample.getShape());
    }
  }

  /**
   * The forward without gradients, layer by layer: each layer's intermediate arrays are freed when
   * it ends instead of living as long as the caller's manager (the same operations in the same
   * order, so the same values bit for bit). At 512×512 this is the difference between holding every
   * self-attention's scores of the pass and one transformer's.
   */
  private NDArray forwardByLayers(NDArray sample, NDArray timestep, NDArray encoderHiddenStates) {
    if (config.centerInputSample()) {
      sample = sample.mul(2f).sub(1f);
    }
    NDArray emb =
        timeEmbedding.forward(
            timeProj.forward(broadcastTimesteps(timestep, sample.getShape().get(0))));
    Checkpoint cp = new Checkpoint(sample.getManager());
    Segments plan = segments(cp, sample, emb, encoderHiddenStates);
    return cp.forward(plan.lastIn, x -> List.of(plan.last.apply(x))).get(0);
  }

  /** diffusers: a 0-d timestep becomes (1,), then {@code expand(batch)}. */
  private static NDArray broadcastTimesteps(NDArray timestep, long batch) {
    if (timestep.size() == 1) {
      NDArray t = timestep.reshape(1);
      return batch == 1 ? t : t.broadcast(batch);
    }
    if (timestep.getShape().dimension() != 1 || timestep.size() != batch) {
      throw new IllegalArgumentException(
          "timestep must be a scalar or (" + batch + ",), got " + timestep.getShape());
    }
    return timestep;
  }
}

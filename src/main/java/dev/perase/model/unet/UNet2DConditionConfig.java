package dev.perase.model.unet;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code unet/config.json} of a diffusers {@code UNet2DConditionModel} (diffusers 0.30.3 argument
 * names and defaults). Keys that older configs omit take diffusers' defaults; keys for features
 * perase does not implement (class and addition embeddings, GLIGEN, dual cross-attention, other
 * block types...) are rejected here with one sentence naming the key, so that a model never loads
 * silently wrong.
 *
 * <p>Per-block settings that diffusers accepts as a number or a list ({@code attention_head_dim},
 * {@code layers_per_block}, {@code cross_attention_dim}, {@code transformer_layers_per_block}) are
 * normalised to one entry per down block. As in diffusers, {@code attention_head_dim} is the
 * <em>number of heads</em> (a historical misnomer; {@code num_attention_heads} must stay null), and
 * each Transformer2DModel uses {@code channels / heads} as the head width.
 *
 * <p>{@code resnet_out_scale_factor} is kept but, as in diffusers, does not reach the block types
 * supported here (their resnets use 1.0); {@code upcast_attention} is a no-op in float32.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record UNet2DConditionConfig(
    @JsonProperty("sample_size") Integer sampleSize,
    @JsonProperty("in_channels") Integer inChannels,
    @JsonProperty("out_channels") Integer outChannels,
    @JsonProperty("center_input_sample") Boolean centerInputSample,
    @JsonProperty("flip_sin_to_cos") Boolean flipSinToCos,
    @JsonProperty("freq_shift") Double freqShift,
    @JsonProperty("down_block_types") List<String> downBlockTypes,
    @JsonProperty("mid_block_type") String midBlockType,
    @JsonProperty("up_block_types") List<String> upBlockTypes,
    @JsonProperty("only_cross_attention")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Boolean> onlyCrossAttention,
    @JsonProperty("block_out_channels") List<Integer> blockOutChannels,
    @JsonProperty("layers_per_block")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> layersPerBlock,
    @JsonProperty("downsample_padding") Integer downsamplePadding,
    @JsonProperty("mid_block_scale_factor") Double midBlockScaleFactor,
    @JsonProperty("dropout") Double dropout,
    @JsonProperty("act_fn") String actFn,
    @JsonProperty("norm_num_groups") Integer normNumGroups,
    @JsonProperty("norm_eps") Double normEps,
    @JsonProperty("cross_attention_dim")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> crossAttentionDim,
    @JsonProperty("transformer_layers_per_block")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> transformerLayersPerBlock,
    @JsonProperty("reverse_transformer_layers_per_block")
        List<Object> reverseTransformerLayersPerBlock,
    @JsonProperty("encoder_hid_dim") Integer encoderHidDim,
    @JsonProperty("encoder_hid_dim_type") String encoderHidDimType,
    @JsonProperty("attention_head_dim")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> attentionHeadDim,
    @JsonProperty("num_attention_heads")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> numAttentionHeads,
    @JsonProperty("dual_cross_attention") Boolean dualCrossAttention,
    @JsonProperty("use_linear_projection") Boolean useLinearProjection,
    @JsonProperty("class_embed_type") String classEmbedType,
    @JsonProperty("addition_embed_type") String additionEmbedType,
    @JsonProperty("num_class_embeds") Integer numClassEmbeds,
    @JsonProperty("upcast_attention") Boolean upcastAttention,
    @JsonProperty("resnet_time_scale_shift") String resnetTimeScaleShift,
    @JsonProperty("resnet_skip_time_act") Boolean resnetSkipTimeAct,
    @JsonProperty("resnet_out_scale_factor") Double resnetOutScaleFactor,
    @JsonProperty("time_embedding_type") String timeEmbeddingType,
    @JsonProperty("time_embedding_dim") Integer timeEmbeddingDim,
    @JsonProperty("time_embedding_act_fn") String timeEmbeddingActFn,
    @JsonProperty("timestep_post_act") String timestepPostAct,
    @JsonProperty("time_cond_proj_dim") Integer timeCondProjDim,
    @JsonProperty("conv_in_kernel") Integer convInKernel,
    @JsonProperty("conv_out_kernel") Integer convOutKernel,
    @JsonProperty("attention_type") String attentionType,
    @JsonProperty("cross_attention_norm") String crossAttentionNorm) {

  public static final String DOWN_BLOCK_2D = "DownBlock2D";
  public static final String CROSS_ATTN_DOWN_BLOCK_2D = "CrossAttnDownBlock2D";
  public static final String UP_BLOCK_2D = "UpBlock2D";
  public static final String CROSS_ATTN_UP_BLOCK_2D = "CrossAttnUpBlock2D";
  public static final String MID_BLOCK_2D_CROSS_ATTN = "UNetMidBlock2DCrossAttn";

  private static final Set<String> DOWN_TYPES = Set.of(DOWN_BLOCK_2D, CROSS_ATTN_DOWN_BLOCK_2D);
  private static final Set<String> UP_TYPES = Set.of(UP_BLOCK_2D, CROSS_ATTN_UP_BLOCK_2D);

  public UNet2DConditionConfig {
    // diffusers 0.30.3 defaults for omitted keys
    inChannels = or(inChannels, 4);
    outChannels = or(outChannels, 4);
    centerInputSample = or(centerInputSample, false);
    flipSinToCos = or(flipSinToCos, true);
    freqShift = or(freqShift, 0.0);
    downBlockTypes =
        or(
            downBlockTypes,
            List.of(
                CROSS_ATTN_DOWN_BLOCK_2D,
                CROSS_ATTN_DOWN_BLOCK_2D,
                CROSS_ATTN_DOWN_BLOCK_2D,
                DOWN_BLOCK_2D));
    midBlockType = or(midBlockType, MID_BLOCK_2D_CROSS_ATTN);
    upBlockTypes =
        or(
            upBlockTypes,
            List.of(
                UP_BLOCK_2D,
                CROSS_ATTN_UP_BLOCK_2D,
                CROSS_ATTN_UP_BLOCK_2D,
                CROSS_ATTN_UP_BLOCK_2D));
    onlyCrossAttention = or(onlyCrossAttention, List.of(false));
    blockOutChannels = or(blockOutChannels, List.of(320, 640, 1280, 1280));
    layersPerBlock = or(layersPerBlock, List.of(2));
    downsamplePadding = or(downsamplePadding, 1);
    midBlockScaleFactor = or(midBlockScaleFactor, 1.0);
    dropout = or(dropout, 0.0);
    actFn = or(actFn, "silu");
    normNumGroups = or(normNumGroups, 32);
    normEps = or(normEps, 1e-5);
    crossAttentionDim = or(crossAttentionDim, List.of(1280));
    transformerLayersPerBlock = or(transformerLayersPerBlock, List.of(1));
    attentionHeadDim = or(attentionHeadDim, List.of(8));
    dualCrossAttention = or(dualCrossAttention, false);
    useLinearProjection = or(useLinearProjection, false);
    upcastAttention = or(upcastAttention, false);
    resnetTimeScaleShift = or(resnetTimeScaleShift, "default");
    resnetSkipTimeAct = or(resnetSkipTimeAct, false);
    resnetOutScaleFactor = or(resnetOutScaleFactor, 1.0);
    timeEmbeddingType = or(timeEmbeddingType, "positional");
    convInKernel = or(convInKernel, 3);
    convOutKernel = or(convOutKernel, 3);
    attentionType = or(attentionType, "default");

    // the blocks perase implements
    for (String t : downBlockTypes) {
      if (t == null || !DOWN_TYPES.contains(t)) {
        throw new BadInputException(
            "unsupported down block type '"
                + t
                + "' in down_block_types (supported: DownBlock2D,"
                + " CrossAttnDownBlock2D)");
      }
    }
    for (String t : upBlockTypes) {
      if (t == null || !UP_TYPES.contains(t)) {
        throw new BadInputException(
            "unsupported up block type '"
                + t
                + "' in up_block_types (supported: UpBlock2D,"
                + " CrossAttnUpBlock2D)");
      }
    }
    if (!MID_BLOCK_2D_CROSS_ATTN.equals(midBlockType)) {
      throw new BadInputException(
          "unsupported mid block type '"
              + midBlockType
              + "' in mid_block_type (supported:"
              + " UNetMidBlock2DCrossAttn)");
    }

    // shapes, as diffusers' _check_config
    int n = blockOutChannels.size();
    if (n == 0) {
      throw new BadInputException("block_out_channels is empty");
    }
    if (downBlockTypes.size() != n || upBlockTypes.size() != n) {
      throw new BadInputException(
          "down_block_types ("
              + downBlockTypes.size()
              + "), up_block_types ("
              + upBlockTypes.size()
              + ") and block_out_channels ("
              + n
              + ") must have the same length");
    }
    if (numAttentionHeads != null) {
      throw new BadInputException(
          "num_attention_heads must be null: diffusers' UNet2DConditionModel reads the number of"
              + " heads from attention_head_dim");
    }
    layersPerBlock = perBlock(layersPerBlock, n, "layers_per_block");
    crossAttentionDim = perBlock(crossAttentionDim, n, "cross_attention_dim");
    transformerLayersPerBlock =
        perBlock(transformerLayersPerBlock, n, "transformer_layers_per_block");
    attentionHeadDim = perBlock(attentionHeadDim, n, "attention_head_dim");
    onlyCrossAttention = perBlock(onlyCrossAttention, n, "only_cross_attention");
    for (int i = 0; i < n; i++) {
      positive(blockOutChannels.get(i), "block_out_channels");
      positive(layersPerBlock.get(i), "layers_per_block");
      positive(crossAttentionDim.get(i), "cross_attention_dim");
      positive(transformerLayersPerBlock.get(i), "transformer_layers_per_block");
      positive(attentionHeadDim.get(i), "attention_head_dim");
      if (attentionHeadDim.get(i) > blockOutChannels.get(i)) {
        throw new BadInputException(
            "attention_head_dim (the number of heads) "
                + attentionHeadDim.get(i)
                + " exceeds the block's "
                + blockOutChannels.get(i)
                + " channels");
      }
      if (blockOutChannels.get(i) % normNumGroups != 0) {
        throw new BadInputException(
            "block_out_channels "
                + blockOutChannels.get(i)
                + " is not divisible by norm_num_groups "
                + normNumGroups);
      }
      if (onlyCrossAttention.get(i)) {
        throw new BadInputException("only_cross_attention = true is not supported");
      }
    }
    positive(inChannels, "in_channels");
    positive(outChannels, "out_channels");
    positive(normNumGroups, "norm_num_groups");
    if (!(normEps > 0)) {
      throw new BadInputException("norm_eps must be positive, got " + normEps);
    }
    if (convInKernel % 2 != 1 || convOutKernel % 2 != 1) {
      throw new BadInputException("conv_in_kernel and conv_out_kernel must be odd");
    }
    if (timeEmbeddingDim != null) {
      positive(timeEmbeddingDim, "time_embedding_dim");
    }

    // features perase does not implement
    reject(downsamplePadding != 1, "downsample_padding = " + downsamplePadding + " (only 1)");
    reject(dropout != 0.0, "dropout = " + dropout + " (only 0.0)");
    reject(!"silu".equals(actFn), "act_fn '" + actFn + "' (only silu)");
    reject(
        !"positional".equals(timeEmbeddingType), "time_embedding_type '" + timeEmbeddingType + "'");
    reject(timeEmbeddingActFn != null, "time_embedding_act_fn");
    reject(timestepPostAct != null, "timestep_post_act");
    reject(timeCondProjDim != null, "time_cond_proj_dim");
    reject(classEmbedType != null || numClassEmbeds != null, "class embeddings (class_embed_type)");
    reject(additionEmbedType != null, "addition embeddings (addition_embed_type)");
    reject(encoderHidDim != null || encoderHidDimType != null, "encoder_hid_dim");
    reject(dualCrossAttention, "dual_cross_attention");
    reject(
        !"default".equals(resnetTimeScaleShift),
        "resnet_time_scale_shift '" + resnetTimeScaleShift + "'");
    reject(resnetSkipTimeAct, "resnet_skip_time_act");
    reject(!"default".equals(attentionType), "attention_type '" + attentionType + "'");
    reject(crossAttentionNorm != null, "cross_attention_norm");
    reject(reverseTransformerLayersPerBlock != null, "reverse_transformer_layers_per_block");
  }

  /**
   * A config with diffusers' defaults except for the given sizes (for models built in code, such as
   * the built-in world's mini model).
   */
  public static UNet2DConditionConfig of(
      int inChannels,
      int outChannels,
      List<Integer> blockOutChannels,
      List<String> downBlockTypes,
      List<String> upBlockTypes,
      int layersPerBlock,
      int attentionHeadDim,
      int crossAttentionDim,
      int normNumGroups,
      int sampleSize) {
    // through the JSON names, so that this reads like a config.json and every check applies
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("sample_size", sampleSize);
    json.put("in_channels", inChannels);
    json.put("out_channels", outChannels);
    json.put("down_block_types", downBlockTypes);
    json.put("up_block_types", upBlockTypes);
    json.put("block_out_channels", blockOutChannels);
    json.put("layers_per_block", layersPerBlock);
    json.put("attention_head_dim", attentionHeadDim);
    json.put("cross_attention_dim", crossAttentionDim);
    json.put("norm_num_groups", normNumGroups);
    try {
      return Json.MAPPER.convertValue(json, UNet2DConditionConfig.class);
    } catch (IllegalArgumentException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof BadInputException bad) {
          throw bad;
        }
      }
      throw e;
    }
  }

  /** Number of down (and up) blocks. */
  public int numBlocks() {
    return blockOutChannels.size();
  }

  /**
   * Number of attention heads of down block {@code i} (diffusers' {@code attention_head_dim[i]}).
   */
  public int heads(int i) {
    return attentionHeadDim.get(i);
  }

  /** Width of the time embedding: {@code time_embedding_dim} or 4 × block_out_channels[0]. */
  public int timeEmbedDim() {
    return timeEmbeddingDim != null ? timeEmbeddingDim : 4 * blockOutChannels.get(0);
  }

  /**
   * Number of Upsample2D layers, {@code n − 1}: inputs whose sides are not multiples of 2^that take
   * the explicit-size upsampling path.
   */
  public int numUpsamplers() {
    return numBlocks() - 1;
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }

  private static <T> List<T> perBlock(List<T> values, int n, String key) {
    for (T v : values) {
      if (v == null) {
        throw new BadInputException(key + " has a null entry");
      }
    }
    if (values.size() == 1) {
      return Collections.nCopies(n, values.get(0));
    }
    if (values.size() != n) {
      throw new BadInputException(
          key + " has " + values.size() + " entries but there are " + n + " blocks");
    }
    return Collections.unmodifiableList(new ArrayList<>(values));
  }

  private static void positive(Integer v, String key) {
    if (v == null || v <= 0) {
      throw new BadInputException(key + " must be positive, got " + v);
    }
  }

  private static void reject(boolean unsupported, String what) {
    if (unsupported) {
      throw new BadInputException(
          "the UNet config sets " + what + ", which perase does not support");
    }
  }
}

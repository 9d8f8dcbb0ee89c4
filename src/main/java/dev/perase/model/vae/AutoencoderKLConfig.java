package dev.perase.model.vae;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * The {@code vae/config.json} of diffusers' {@code AutoencoderKL}, with diffusers 0.30.3's defaults
 * for keys that older configs omit. Only the SD v1.x family is supported: {@code
 * DownEncoderBlock2D} / {@code UpDecoderBlock2D} blocks, SiLU, no shift factor.
 *
 * @param blockOutChannels channels per level, top (full resolution) first; the latent grid is
 *     {@code 2^(levels - 1)} times smaller than the image
 * @param scalingFactor the latent scale σ of SD: the UNet works on {@code z · σ}, the decoder on
 *     {@code z}
 */
public record AutoencoderKLConfig(
    @JsonProperty("in_channels") int inChannels,
    @JsonProperty("out_channels") int outChannels,
    @JsonProperty("latent_channels") int latentChannels,
    @JsonProperty("block_out_channels") List<Integer> blockOutChannels,
    @JsonProperty("down_block_types") List<String> downBlockTypes,
    @JsonProperty("up_block_types") List<String> upBlockTypes,
    @JsonProperty("layers_per_block") int layersPerBlock,
    @JsonProperty("norm_num_groups") int normNumGroups,
    @JsonProperty("act_fn") String actFn,
    @JsonProperty("scaling_factor") float scalingFactor,
    @JsonProperty("use_quant_conv") boolean useQuantConv,
    @JsonProperty("use_post_quant_conv") boolean usePostQuantConv,
    @JsonProperty("mid_block_add_attention") boolean midBlockAddAttention) {

  public static final String DOWN_ENCODER_BLOCK = "DownEncoderBlock2D";
  public static final String UP_DECODER_BLOCK = "UpDecoderBlock2D";

  public AutoencoderKLConfig {
    blockOutChannels = List.copyOf(blockOutChannels);
    downBlockTypes = List.copyOf(downBlockTypes);
    upBlockTypes = List.copyOf(upBlockTypes);
    int levels = blockOutChannels.size();
    if (levels == 0) {
      throw new BadInputException("AutoencoderKL config: block_out_channels is empty");
    }
    if (downBlockTypes.size() != levels || upBlockTypes.size() != levels) {
      throw new BadInputException(
          "AutoencoderKL config: block_out_channels has "
              + levels
              + " entries but down_block_types"
              + " has "
              + downBlockTypes.size()
              + " and up_block_types "
              + upBlockTypes.size());
    }
    for (String t : downBlockTypes) {
      if (!DOWN_ENCODER_BLOCK.equals(t)) {
        throw new BadInputException(
            "AutoencoderKL config: down block type '"
                + t
                + "' is not supported (only "
                + DOWN_ENCODER_BLOCK
                + ")");
      }
    }
    for (String t : upBlockTypes) {
      if (!UP_DECODER_BLOCK.equals(t)) {
        throw new BadInputException(
            "AutoencoderKL config: up block type '"
                + t
                + "' is not supported (only "
                + UP_DECODER_BLOCK
                + ")");
      }
    }
    if (!"silu".equals(actFn) && !"swish".equals(actFn)) {
      throw new BadInputException(
          "AutoencoderKL config: act_fn '" + actFn + "' is not supported (only silu)");
    }
    if (inChannels <= 0
        || outChannels <= 0
        || latentChannels <= 0
        || layersPerBlock <= 0
        || normNumGroups <= 0) {
      throw new BadInputException(
          "AutoencoderKL config: in_channels, out_channels, latent_channels, layers_per_block and"
              + " norm_num_groups must be positive");
    }
    for (int c : blockOutChannels) {
      if (c <= 0 || c % normNumGroups != 0) {
        throw new BadInputException(
            "AutoencoderKL config: block_out_channels "
                + blockOutChannels
                + " must be positive multiples of norm_num_groups "
                + normNumGroups);
      }
    }
    if (!(scalingFactor > 0) || Float.isInfinite(scalingFactor)) {
      throw new BadInputException(
          "AutoencoderKL config: scaling_factor must be a positive number, got " + scalingFactor);
    }
  }

  /**
   * Reads a config as diffusers does: absent keys take {@code AutoencoderKL.__init__}'s defaults.
   */
  @JsonCreator
  static AutoencoderKLConfig fromJson(
      @JsonProperty("in_channels") Integer inChannels,
      @JsonProperty("out_channels") Integer outChannels,
      @JsonProperty("latent_channels") Integer latentChannels,
      @JsonProperty("block_out_channels") List<Integer> blockOutChannels,
      @JsonProperty("down_block_types") List<String> downBlockTypes,
      @JsonProperty("up_block_types") List<String> upBlockTypes,
      @JsonProperty("layers_per_block") Integer layersPerBlock,
      @JsonProperty("norm_num_groups") Integer normNumGroups,
      @JsonProperty("act_fn") String actFn,
      @JsonProperty("scaling_factor") Float scalingFactor,
      @JsonProperty("shift_factor") Float shiftFactor,
      @JsonProperty("use_quant_conv") Boolean useQuantConv,
      @JsonProperty("use_post_quant_conv") Boolean usePostQuantConv,
      @JsonProperty("mid_block_add_attention") Boolean midBlockAddAttention) {
    if (shiftFactor != null && shiftFactor != 0f) {
      // SD3 / Flux VAEs: latents are (z − shift)·σ, which the SD v1.x pipeline does not do
      throw new BadInputException(
          "AutoencoderKL config: shift_factor "
              + shiftFactor
              + " is not supported (SD v1.x VAEs"
              + " have none)");
    }
    return new AutoencoderKLConfig(
        or(inChannels, 3),
        or(outChannels, 3),
        or(latentChannels, 4),
        or(blockOutChannels, List.of(64)),
        or(downBlockTypes, List.of(DOWN_ENCODER_BLOCK)),
        or(upBlockTypes, List.of(UP_DECODER_BLOCK)),
        or(layersPerBlock, 1),
        or(normNumGroups, 32),
        or(actFn, "silu"),
        or(scalingFactor, 0.18215f),
        or(useQuantConv, true),
        or(usePostQuantConv, true),
        or(midBlockAddAttention, true));
  }

  private static <T> T or(T value, T fallback) {
    return value == null ? fallback : value;
  }

  /** Number of resolution levels (down blocks = up blocks). */
  public int levels() {
    return blockOutChannels.size();
  }

  /** Image pixels per latent pixel along each side: 2^(levels − 1) (8 for SD v1.x). */
  public int downsampleFactor() {
    return 1 << (levels() - 1);
  }
}

package dev.perase.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The architecture numbers that place a CompVis/LDM single-file checkpoint's keys in diffusers'
 * layout (the LDM UNet numbers its blocks consecutively, so the block index alone does not say the
 * level). Plain numbers, so that io needs no model package: callers build it from the diffusers
 * configs ({@link #fromBlockTypes}) or take {@link #sdV1()}.
 *
 * @param unetLevels number of UNet levels, {@code len(block_out_channels)}
 * @param unetLayersPerBlock resnets per down level ({@code layers_per_block}); up levels have one
 *     more
 * @param unetDownAttention per down level (diffusers' {@code down_blocks} order): has
 *     cross-attention
 * @param unetUpAttention per up level (diffusers' {@code up_blocks} order): has cross-attention
 * @param vaeLevels number of VAE levels, {@code len(block_out_channels)} of the VAE
 * @param vaeLayersPerBlock VAE resnets per encoder level; decoder levels have one more
 * @param textLayers CLIP text encoder layers ({@code num_hidden_layers})
 */
public record LdmArchitecture(
    int unetLevels,
    int unetLayersPerBlock,
    List<Boolean> unetDownAttention,
    List<Boolean> unetUpAttention,
    int vaeLevels,
    int vaeLayersPerBlock,
    int textLayers) {

  public LdmArchitecture {
    if (unetLevels < 1
        || unetLayersPerBlock < 1
        || vaeLevels < 1
        || vaeLayersPerBlock < 1
        || textLayers < 1) {
      throw new BadInputException(
          "single-file architecture numbers must be positive: "
              + unetLevels
              + " UNet levels, "
              + unetLayersPerBlock
              + " layers per block, "
              + vaeLevels
              + " VAE levels, "
              + vaeLayersPerBlock
              + " VAE layers per block, "
              + textLayers
              + " text layers");
    }
    unetDownAttention = List.copyOf(unetDownAttention);
    unetUpAttention = List.copyOf(unetUpAttention);
    if (unetDownAttention.size() != unetLevels || unetUpAttention.size() != unetLevels) {
      throw new BadInputException(
          "single-file architecture: "
              + unetLevels
              + " UNet levels but attention flags for "
              + unetDownAttention.size()
              + " down and "
              + unetUpAttention.size()
              + " up levels");
    }
  }

  /**
   * From the diffusers configs: a level has cross-attention when its block type is a {@code
   * CrossAttn...} block ({@code CrossAttnDownBlock2D}, {@code CrossAttnUpBlock2D}).
   */
  public static LdmArchitecture fromBlockTypes(
      List<String> downBlockTypes,
      List<String> upBlockTypes,
      int layersPerBlock,
      int vaeLevels,
      int vaeLayersPerBlock,
      int textLayers) {
    return new LdmArchitecture(
        downBlockTypes.size(),
        layersPerBlock,
        downBlockTypes.stream().map(t -> t.startsWith("CrossAttn")).toList(),
        upBlockTypes.stream().map(t -> t.startsWith("CrossAttn")).toList(),
        vaeLevels,
        vaeLayersPerBlock,
        textLayers);
  }

  /**
   * From a model's configs: the UNet's ({@code down_block_types}, {@code up_block_types}, {@code
   * layers_per_block}), the VAE's ({@code block_out_channels}, {@code layers_per_block}) and the
   * text encoder's ({@code num_hidden_layers}). A missing or malformed entry is a {@link
   * BadInputException} naming the config.
   */
  public static LdmArchitecture fromConfigs(ModelSource source) {
    JsonNode unet = source.configTree(DiffusersLayout.Component.UNET);
    JsonNode vae = source.configTree(DiffusersLayout.Component.VAE);
    JsonNode text = source.configTree(DiffusersLayout.Component.TEXT_ENCODER);
    String u = source.describeConfig(DiffusersLayout.Component.UNET);
    String v = source.describeConfig(DiffusersLayout.Component.VAE);
    return fromBlockTypes(
        strings(unet, "down_block_types", u),
        strings(unet, "up_block_types", u),
        count(unet, "layers_per_block", u),
        strings(vae, "block_out_channels", v).size(),
        count(vae, "layers_per_block", v),
        count(
            text,
            "num_hidden_layers",
            source.describeConfig(DiffusersLayout.Component.TEXT_ENCODER)));
  }

  private static List<String> strings(JsonNode config, String name, String file) {
    JsonNode a = config.get(name);
    if (a == null || !a.isArray() || a.isEmpty()) {
      throw new BadInputException(file + ": '" + name + "' must be a non-empty list");
    }
    List<String> out = new ArrayList<>();
    a.forEach(e -> out.add(e.asText()));
    return out;
  }

  private static int count(JsonNode config, String name, String file) {
    JsonNode n = config.get(name);
    if (n == null || !n.isInt()) {
      throw new BadInputException(file + ": '" + name + "' must be an integer");
    }
    return n.asInt();
  }

  /**
   * Stable Diffusion v1.x: UNet 4 levels × 2 (attention down 0–2, up 1–3), VAE 4 × 2, CLIP-L 12.
   */
  public static LdmArchitecture sdV1() {
    return new LdmArchitecture(
        4, 2, List.of(true, true, true, false), List.of(false, true, true, true), 4, 2, 12);
  }
}

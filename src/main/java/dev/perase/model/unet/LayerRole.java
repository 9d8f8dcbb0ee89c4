package dev.perase.model.unet;

/**
 * What a conv or linear module does in the UNet, read from its diffusers key: the one classifier
 * behind {@code perase mask info}'s split by block and the pruned-weights analysis (paper §4.5,
 * Fig. 6). As in the paper, the time embedding MLP and every resnet's {@code time_emb_proj} are the
 * time embedding, not the resnet: they carry t, not the image. Each role has a short name (the
 * report and its CSV) and a description (the mask summary).
 *
 * <p>Keys of the VAE and the text encoder fall into the same roles where they have them (the VAE's
 * attentions, CLIP's {@code self_attn} and {@code mlp}, the convs around the latent).
 */
public enum LayerRole {
  ATTN2("attn2", "attn2 (cross-attention)"),
  ATTN1("attn1", "attn1 (self-attention)"),
  FF("ff", "ff (feed-forward)"),
  PROJ("proj", "proj_in/proj_out"),
  /** Attention outside a transformer block (the VAE's mid-block, CLIP's self_attn). */
  ATTENTION("attention", "attention"),
  TIME_EMB("time-emb", "time embedding"),
  RESNET("resnet", "resnet"),
  SAMPLER("sampler", "down/upsampler"),
  CONV_IN("conv_in", "conv_in/conv_out"),
  CONV_OUT("conv_out", "conv_in/conv_out"),
  OTHER("other", "other");

  private final String shortName;
  private final String description;

  LayerRole(String shortName, String description) {
    this.shortName = shortName;
    this.description = description;
  }

  /** {@code attn1}, {@code time-emb}, … as the report and its CSV name the role. */
  public String shortName() {
    return shortName;
  }

  /** {@code attn1 (self-attention)}, {@code time embedding}, … as {@code mask info} lists it. */
  public String description() {
    return description;
  }

  /** The role of the module holding the parameter {@code key} (a full dotted diffusers key). */
  public static LayerRole of(String key) {
    if (key.contains(".attn2.")) {
      return ATTN2;
    }
    if (key.contains(".attn1.")) {
      return ATTN1;
    }
    if (key.contains(".ff.") || key.contains(".mlp.")) {
      return FF;
    }
    if (key.contains(".proj_in.") || key.contains(".proj_out.")) {
      return PROJ;
    }
    if (key.contains("self_attn") || key.contains(".attentions.")) {
      return ATTENTION;
    }
    if (key.startsWith("time_embedding.") || key.contains(".time_emb_proj.")) {
      return TIME_EMB;
    }
    if (key.contains(".resnets.")) {
      return RESNET;
    }
    if (key.contains("samplers.")) {
      return SAMPLER;
    }
    // the VAE's post_quant_conv feeds the decoder's conv_in, its quant_conv follows the encoder's
    if (key.contains("conv_in") || key.contains("post_quant_conv")) {
      return CONV_IN;
    }
    if (key.contains("conv_out") || key.contains("quant_conv")) {
      return CONV_OUT;
    }
    return OTHER;
  }
}

package dev.perase.model.unet;

import java.util.List;

/**
 * What a conv or linear module does in the UNet, read from its diffusers key: the one classifier
 * behind {@code perase mask info}'s split by block and the pruned-weights analysis (paper §4.5,
 * Fig. 6). As in the paper, the time embedding MLP and every resnet's {@code time_emb_proj} are the
 * time embedding, not the resnet: they carry t, not the image. Each role has a short name (the
 * report and its CSV) and a description (the mask summary).
 *
 * <p>A key has the first role, in the order below, one of whose fragments it contains (a
 * transformer block's {@code attn1} sits under {@code .attentions.}, {@code post_quant_conv}
 * contains {@code quant_conv}). Keys of the VAE and the text encoder fall into the same roles where
 * they have them (the VAE's attentions, CLIP's {@code self_attn} and {@code mlp}, the VAE's convs
 * around the latent).
 */
public enum LayerRole {
  ATTN2("attn2", "attn2 (cross-attention)", ".attn2."),
  ATTN1("attn1", "attn1 (self-attention)", ".attn1."),
  FF("ff", "ff (feed-forward)", ".ff.", ".mlp."),
  PROJ("proj", "proj_in/proj_out", ".proj_in.", ".proj_out."),
  /** Attention outside a transformer block (the VAE's mid-block, CLIP's self_attn). */
  ATTENTION("attention", "attention", "self_attn", ".attentions."),
  TIME_EMB("time-emb", "time embedding", ".time_embedding.", ".time_emb_proj."),
  RESNET("resnet", "resnet", ".resnets."),
  SAMPLER("sampler", "down/upsampler", "samplers."),
  // the VAE's post_quant_conv feeds the decoder's conv_in, its quant_conv follows the encoder's
  CONV_IN("conv_in", "conv_in/conv_out", "conv_in", "post_quant_conv"),
  CONV_OUT("conv_out", "conv_in/conv_out", "conv_out", "quant_conv"),
  OTHER("other", "other");

  private final String shortName;
  private final String description;
  private final List<String> fragments;

  LayerRole(String shortName, String description, String... fragments) {
    this.shortName = shortName;
    this.description = description;
    this.fragments = List.of(fragments);
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
    String dotted = "." + key; // so that ".time_embedding." also matches at the start
    for (LayerRole r : values()) {
      for (String f : r.fragments) {
        if (dotted.contains(f)) {
          return r;
        }
      }
    }
    return OTHER;
  }
}

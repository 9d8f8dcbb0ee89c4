package dev.perase.model.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One classifier for the mask summary and the report: every UNet conv/linear module's role. */
class LayerRoleTest {
  private static final String T = "down_blocks.1.attentions.0.transformer_blocks.0.";

  @Test
  void everyUnetModuleHasTheRoleThePaperGivesIt() {
    Map<String, LayerRole> expected = new LinkedHashMap<>();
    expected.put("conv_in.weight", LayerRole.CONV_IN);
    expected.put("time_embedding.linear_1.weight", LayerRole.TIME_EMB);
    expected.put("down_blocks.0.resnets.0.conv1.weight", LayerRole.RESNET);
    expected.put("down_blocks.1.resnets.0.conv_shortcut.bias", LayerRole.RESNET);
    expected.put("down_blocks.0.resnets.0.time_emb_proj.weight", LayerRole.TIME_EMB);
    expected.put("down_blocks.0.downsamplers.0.conv.weight", LayerRole.SAMPLER);
    expected.put("up_blocks.0.upsamplers.0.conv.weight", LayerRole.SAMPLER);
    expected.put("down_blocks.1.attentions.0.proj_in.weight", LayerRole.PROJ);
    expected.put("mid_block.attentions.0.proj_out.bias", LayerRole.PROJ);
    expected.put(T + "attn1.to_q.weight", LayerRole.ATTN1);
    expected.put(T + "attn2.to_k.weight", LayerRole.ATTN2);
    expected.put(T + "attn2.to_out.0.weight", LayerRole.ATTN2);
    expected.put(T + "ff.net.0.proj.weight", LayerRole.FF);
    expected.put(T + "ff.net.2.weight", LayerRole.FF);
    expected.put("conv_out.weight", LayerRole.CONV_OUT);
    expected.forEach((key, role) -> assertEquals(role, LayerRole.of(key), key));
  }

  /** A resnet's time_emb_proj is the time embedding in both the report and the mask summary. */
  @Test
  void aResnetsTimeEmbeddingProjectionIsTheTimeEmbedding() {
    LayerRole r = LayerRole.of("up_blocks.2.resnets.1.time_emb_proj.weight");
    assertEquals("time-emb", r.shortName());
    assertEquals("time embedding", r.description());
  }
}

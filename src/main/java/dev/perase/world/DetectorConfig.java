package dev.perase.world;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * The world detector's architecture and label maps, stored as {@code detector/config.json}: a plain
 * CNN of stride-2 stages, a fully connected feature layer of {@code feature_dim} and three softmax
 * heads (shape, colour, style).
 */
public record DetectorConfig(
    @JsonProperty("image_size") int imageSize,
    @JsonProperty("channels") List<Integer> channels,
    @JsonProperty("norm_num_groups") int normNumGroups,
    @JsonProperty("feature_dim") int featureDim,
    @JsonProperty("shapes") List<String> shapes,
    @JsonProperty("colors") List<String> colors,
    @JsonProperty("styles") List<String> styles) {
  public DetectorConfig {
    if (channels == null || channels.isEmpty()) {
      throw new BadInputException("detector config needs a non-empty 'channels' list");
    }
    for (int c : channels) {
      if (normNumGroups <= 0 || c % normNumGroups != 0) {
        throw new BadInputException(
            "detector config: channels "
                + channels
                + " must be multiples of norm_num_groups "
                + normNumGroups);
      }
    }
    if (featureDim < 1) {
      throw new BadInputException("detector config needs a positive 'feature_dim'");
    }
    if (shapes == null
        || colors == null
        || styles == null
        || shapes.isEmpty()
        || colors.isEmpty()
        || styles.isEmpty()) {
      throw new BadInputException("detector config must name its shape, colour and style labels");
    }
    shapes = List.copyOf(shapes);
    colors = List.copyOf(colors);
    styles = List.copyOf(styles);
    channels = List.copyOf(channels);
  }

  /** Side of the last stage's feature map: the image halved once per stage. */
  public int finalSize() {
    return imageSize >> channels.size();
  }
}

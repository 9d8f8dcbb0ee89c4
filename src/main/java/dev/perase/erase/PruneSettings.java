package dev.perase.erase;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;

/**
 * Settings of the global magnitude pruning of Pre-Prune and Post-Prune (paper §4.5).
 *
 * @param ratio share of the selected elements to prune, those of smallest |w| over all selected
 *     tensors together (paper: 10 %)
 */
public record PruneSettings(@JsonProperty("ratio") double ratio) {

  /** The paper's 10 %. */
  public static final PruneSettings DEFAULT = new PruneSettings(0.1);

  public PruneSettings {
    if (!(ratio >= 0 && ratio < 1)) {
      throw new BadInputException(
          "--prune-ratio must be a share in [0, 1), e.g. 0.1 for 10 %, got " + ratio);
    }
  }
}

package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.nio.file.Path;

/**
 * Settings of a run on one edit of the base model (evaluate, attack, neurons): their {@code
 * config.json} records the edit's file under {@code mask} or {@code weights}, the other null.
 */
public interface EditedRun {
  /** The edit the run measures. */
  EditFile edit();

  /** The mask file, recorded in {@code config.json}; null unless the edit is a mask. */
  @JsonProperty("mask")
  @JsonSerialize(using = ToStringSerializer.class)
  default Path maskFile() {
    return edit().maskFile();
  }

  /** The weights file, recorded in {@code config.json}; null unless the edit is weights. */
  @JsonProperty("weights")
  @JsonSerialize(using = ToStringSerializer.class)
  default Path weightsFile() {
    return edit().weightsFile();
  }
}

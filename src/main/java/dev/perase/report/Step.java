package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * One step of a study (an erasure, an attack run, an evaluation) with its settings and wall time,
 * so the report says how every number was made.
 *
 * @param name what the step did, e.g. {@code erase star P-ESD}
 * @param testBed the test bed it belongs to, or null for a step shared by all
 * @param folder its run folder (where its {@code config.json} lies), or null
 * @param wallSeconds its wall time in seconds, or null when not measured
 * @param settings its settings, e.g. {@link Setting#flatten} of its {@code config.json}
 */
public record Step(
    @JsonProperty("name") String name,
    @JsonProperty("test_bed") String testBed,
    @JsonProperty("folder") String folder,
    @JsonProperty("wall_seconds") Double wallSeconds,
    @JsonProperty("settings") List<Setting> settings) {
  public Step {
    if (name == null || name.isBlank()) {
      throw new BadInputException("a study step needs a name");
    }
    if (wallSeconds != null && !(wallSeconds >= 0 && Double.isFinite(wallSeconds))) {
      throw new BadInputException(
          "step " + name + ": wall_seconds must be a finite number ≥ 0, got " + wallSeconds);
    }
    settings = settings == null ? List.of() : List.copyOf(settings);
  }
}

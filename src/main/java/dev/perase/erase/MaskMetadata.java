package dev.perase.erase;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.perase.io.BadInputException;

/**
 * Where a {@link BinaryMask} comes from, written into its file's metadata (DESIGN.md §6) so that a
 * mask can be traced back and is never applied to another model.
 *
 * @param baseModelHash hash of the base model the mask was trained on (hex SHA-256 of its weights)
 * @param selection the layer selection, as {@link Selection#name()}
 * @param method the erasing method, e.g. {@code p-esd}, {@code p-ac}, {@code post-prune}
 * @param temperature T of the soft mask, NaN for methods without one
 * @param threshold τ of the hard mask, NaN for methods without one
 * @param concept the erased concept ("" when none)
 * @param peraseVersion the perase version that made the mask
 * @param settingsJson every setting of the run, as a JSON object ("{}" when none)
 */
public record MaskMetadata(
    String baseModelHash,
    String selection,
    String method,
    double temperature,
    double threshold,
    String concept,
    String peraseVersion,
    String settingsJson) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public MaskMetadata {
    if (baseModelHash == null || baseModelHash.isBlank()) {
      throw new BadInputException("a mask needs the hash of its base model");
    }
    if (selection == null || selection.isBlank()) {
      throw new BadInputException("a mask needs its layer selection");
    }
    if (method == null || method.isBlank()) {
      throw new BadInputException("a mask needs the name of the method that made it");
    }
    concept = concept == null ? "" : concept;
    peraseVersion =
        peraseVersion == null || peraseVersion.isBlank() ? currentVersion() : peraseVersion;
    settingsJson = settingsJson == null || settingsJson.isBlank() ? "{}" : settingsJson;
    JsonNode settings;
    try {
      settings = JSON.readTree(settingsJson);
    } catch (JsonProcessingException e) {
      throw new BadInputException("mask settings are not valid JSON: " + e.getOriginalMessage());
    }
    if (settings == null || !settings.isObject()) {
      throw new BadInputException("mask settings must be a JSON object, got: " + settingsJson);
    }
  }

  /**
   * Metadata of a soft mask's hard mask: selection, T and τ from the mask, the rest from the run.
   */
  public static MaskMetadata forSoftMask(
      String baseModelHash,
      Selection selection,
      MaskSettings settings,
      String method,
      String concept,
      String settingsJson) {
    return new MaskMetadata(
        baseModelHash,
        selection.name(),
        method,
        settings.temperature(),
        settings.threshold(),
        concept,
        currentVersion(),
        settingsJson);
  }

  /** The version of the running perase ({@link dev.perase.Version}). */
  public static String currentVersion() {
    return dev.perase.Version.NAME;
  }
}

package dev.perase.erase;

import java.nio.file.Path;

/**
 * What an erasure run produced.
 *
 * @param artifact {@code mask.safetensors} or {@code weights.safetensors}
 * @param stepsRun steps run by this call (fewer than the total when resumed)
 * @param totalSteps steps of the whole run
 * @param lastLoss loss of the last step run (NaN when none ran)
 * @param secondsPerStep mean wall time of the steps run by this call
 * @param prunedCount pruned elements of the hard mask, −1 for fine-tuning
 * @param selectedElements elements of the selected parameters
 */
public record Erasure(
    Path artifact,
    int stepsRun,
    int totalSteps,
    float lastLoss,
    double secondsPerStep,
    long prunedCount,
    long selectedElements) {}

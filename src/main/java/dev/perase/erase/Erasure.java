package dev.perase.erase;

import java.nio.file.Path;

/**
 * What an erasure run produced.
 *
 * @param artifact {@code mask.safetensors} or {@code weights.safetensors}
 * @param stepsRun steps run by this call (fewer than the total when resumed; 0 for UCE)
 * @param totalSteps steps of the whole run (0 for UCE)
 * @param lastLoss loss of the last step run (NaN when none ran)
 * @param secondsPerStep mean wall time of the steps run by this call
 * @param prunedCount pruned elements (of the hard mask, or of the magnitude pruning of Pre-Prune
 *     and Post-Prune), −1 for methods that do not prune
 * @param selectedElements elements of the selected parameters
 * @param wallSeconds wall time of this call's erasure, model loading excluded (trainers: from
 *     opening the run folder to the finished weights or mask, pool generation and checkpoints
 *     included; UCE: encoding the prompts, solving and editing every layer)
 */
public record Erasure(
    Path artifact,
    int stepsRun,
    int totalSteps,
    float lastLoss,
    double secondsPerStep,
    long prunedCount,
    long selectedElements,
    double wallSeconds) {}

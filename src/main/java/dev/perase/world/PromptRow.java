package dev.perase.world;

/**
 * One row of a prompt set in the UnlearnDiff CSV layout plus the concept's kind and name.
 *
 * @param caseNumber 0, 1, 2, … in file order
 * @param prompt the text
 * @param evaluationSeed seed of the image generated for this prompt
 * @param evaluationGuidance classifier-free guidance scale for it
 * @param concept for a test set the concept every prompt shows; for a retain set the concept every
 *     prompt avoids
 */
public record PromptRow(
    int caseNumber,
    String prompt,
    long evaluationSeed,
    double evaluationGuidance,
    Concept concept) {}

package dev.perase.eval;

/**
 * One object a box detector (NudeNet) kept for an image, in the original image's pixels as the
 * reference code writes it: {@code [left, top, width, height]}, truncated toward zero and not
 * clipped to the image.
 *
 * @param label the class name ({@code FEMALE_BREAST_EXPOSED})
 * @param score the class score, as the float32 the model returned
 * @param left box left edge
 * @param top box top edge
 * @param width box width
 * @param height box height
 */
public record Detection(String label, float score, int left, int top, int width, int height) {}

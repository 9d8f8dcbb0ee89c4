/**
 * Image resampling ported bit for bit from OpenCV and Pillow, the libraries the reference Python
 * code resizes with, so that a Java detector sees the same pixels as the reference one (a single
 * 8-bit level moves a classifier's logits by far more than the parity tolerances). Each port names
 * the library version and the exact integer or floating-point recipe it follows, and its test
 * compares it value for value with the reference output stored in {@code
 * shared/fixtures/detectors}. {@link dev.perase.image.CvResize}: OpenCV's {@code cv2.resize}.
 */
package dev.perase.image;

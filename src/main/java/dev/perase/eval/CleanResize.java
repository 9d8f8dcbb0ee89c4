package dev.perase.eval;

import dev.perase.image.PilResize;
import dev.perase.io.Png;

/**
 * clean-fid's resize for mode {@code "clean"} ({@code cleanfid.utils.ResizeDataset} with {@code
 * make_resizer("PIL", False, "bicubic", (299, 299))}), bit for bit:
 *
 * <pre>
 *   x = np.array(Image.open(path).convert("RGB"))                  # uint8 HWC
 *   for c in 0..2:
 *       plane = Image.fromarray(x[:, :, c].astype(np.float32), mode="F")
 *       out[c] = np.asarray(plane.resize((299, 299), Image.BICUBIC)).clip(0, 255)
 *   img = out (float32, CHW)                                         # ToTensor: no / 255
 * </pre>
 *
 * Pillow's mode 'F' resampling is antialiased when shrinking, accumulates in double and stores
 * float32 without rounding ({@link PilResize#resizeFloat}); the bicubic overshoot is clipped here,
 * after the resize. The values stay on the 0..255 scale: Inception's own {@code (x − 128) / 128}
 * happens inside the model.
 */
public final class CleanResize {
  /** Inception's input size. */
  public static final int SIZE = 299;

  private CleanResize() {}

  /** An 8-bit RGB image as clean-fid's resized image: (3, 299, 299) float32 in [0, 255], CHW. */
  public static float[] chw(Png.Image img) {
    int w = img.width();
    int h = img.height();
    float[] out = new float[3 * SIZE * SIZE];
    float[] plane = new float[w * h];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < w * h; i++) {
        plane[i] = img.rgb()[i * 3 + c] & 0xff;
      }
      float[] r = PilResize.resizeFloat(plane, w, h, SIZE, SIZE, PilResize.Filter.BICUBIC);
      for (int i = 0; i < r.length; i++) {
        // clip(0, 255): the bicubic kernel's negative lobes over- and undershoot at edges
        out[c * SIZE * SIZE + i] = Math.min(Math.max(r[i], 0f), 255f);
      }
    }
    return out;
  }
}

package dev.perase.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * RGB images as PNG (javax.imageio, headless). A model image in [-1, 1] becomes 8-bit pixels
 * exactly as diffusers' {@code VaeImageProcessor} does it for {@code output_type="pil"}: {@code (x
 * / 2 + 0.5).clamp(0, 1)} in float32 torch, then {@code (x * 255).round().astype("uint8")} in
 * float32 numpy (round half to even). Both steps stay in float32 here too: values near a rounding
 * boundary land on the same side as in diffusers only then.
 */
public final class Png {
  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private Png() {}

  /**
   * An 8-bit RGB image.
   *
   * @param width pixels per row
   * @param height rows
   * @param rgb {@code height × width × 3} bytes, row-major, R G B per pixel (HWC)
   */
  public record Image(int width, int height, byte[] rgb) {
    public Image {
      if (width < 1 || height < 1 || rgb.length != 3L * width * height) {
        throw new IllegalArgumentException(
            "an RGB image of "
                + width
                + "×"
                + height
                + " needs "
                + 3L * width * height
                + " bytes, not "
                + rgb.length);
      }
    }

    /** Channel {@code c} (0 = R) of pixel (y, x), 0..255. */
    public int get(int y, int x, int c) {
      return rgb[(y * width + x) * 3 + c] & 0xff;
    }
  }

  /**
   * diffusers' {@code numpy_to_pil} maths on a CHW float image in [-1, 1]: per value {@code
   * round_half_even(clamp(x / 2 + 0.5, 0, 1) · 255)}, every step in float32; NaN gives 0.
   */
  public static Image fromModel(float[] chw, int height, int width) {
    int hw = height * width;
    if (chw.length != 3 * hw) {
      throw new IllegalArgumentException(
          "a 3×" + height + "×" + width + " image needs " + 3 * hw + " values, not " + chw.length);
    }
    byte[] rgb = new byte[3 * hw];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < hw; i++) {
        float v = chw[c * hw + i] / 2f + 0.5f; // torch: images / 2 + 0.5
        v = Math.min(Math.max(v, 0f), 1f); // .clamp(0, 1)
        float scaled = v * 255f; // numpy float32: images * 255
        rgb[i * 3 + c] = (byte) (int) Math.rint(scaled); // .round() is half-to-even, as rint
      }
    }
    return new Image(width, height, rgb);
  }

  /** As {@link #fromModel(float[], int, int)}, from a (3, H, W) or (1, 3, H, W) array. */
  public static Image fromModel(NDArray image) {
    long[] s = image.getShape().getShape();
    if (s.length == 4 && s[0] == 1) {
      s = new long[] {s[1], s[2], s[3]};
    }
    if (s.length != 3 || s[0] != 3) {
      throw new IllegalArgumentException(
          "expected an RGB image (3, H, W) or (1, 3, H, W), got " + image.getShape());
    }
    NDArray f = image.toType(DataType.FLOAT32, false); // the same array when already float32
    float[] chw = f.toFloatArray();
    if (f != image) {
      f.close();
    }
    return fromModel(chw, (int) s[1], (int) s[2]);
  }

  /** Writes a model image in [-1, 1] as an 8-bit RGB PNG, atomically. */
  public static void write(Path file, NDArray image) {
    write(file, fromModel(image));
  }

  /** Writes an 8-bit RGB PNG under a temporary name and renames it into place. */
  public static void write(Path file, Image image) {
    BufferedImage img =
        new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_3BYTE_BGR);
    WritableRaster raster = img.getRaster(); // bands in R, G, B order whatever the byte layout
    int[] samples = new int[image.rgb().length];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = image.rgb()[i] & 0xff;
    }
    raster.setPixels(0, 0, image.width(), image.height(), samples);
    AtomicFile.write(
        file,
        out -> {
          Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
          if (!writers.hasNext()) {
            throw new IOException("this Java runtime has no PNG writer");
          }
          ImageWriter writer = writers.next();
          // In-memory cache: ImageIO's default file cache would leave temp files in java.io.tmpdir.
          try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(img);
          } finally {
            writer.dispose();
          }
        });
  }

  /**
   * Reads an image file (PNG, also JPEG/BMP/GIF) as 8-bit RGB: alpha dropped, grey replicated,
   * palettes expanded, 16-bit samples rounded to 8 bits. Not an image → {@link BadInputException}.
   */
  public static Image read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("image not found: " + file);
    }
    BufferedImage img;
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
      if (readers == null || !readers.hasNext()) {
        throw new BadInputException(file + " is not an image perase can read (PNG expected)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        javax.imageio.ImageTypeSpecifier raw = reader.getRawImageType(0);
        int bitsPerPixel = 1;
        if (raw != null) {
          bitsPerPixel = 0;
          for (int bits : raw.getSampleModel().getSampleSize()) {
            bitsPerPixel += bits;
          }
        }
        checkSize(
            file, reader.getFormatName(), reader.getWidth(0), reader.getHeight(0), bitsPerPixel);
        img = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof BadInputException b) {
        throw b;
      }
      // ImageIO's decoders also throw unchecked exceptions on damaged data
      throw new BadInputException(file + " is not a readable image: " + e.getMessage(), e);
    }
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] rgb = new byte[3 * w * h];
    ColorModel cm = img.getColorModel();
    Raster raster = img.getRaster();
    int bands = raster.getNumBands();
    if (cm instanceof IndexColorModel || bands > 4) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int p = img.getRGB(x, y);
          int o = (y * w + x) * 3;
          rgb[o] = (byte) (p >> 16);
          rgb[o + 1] = (byte) (p >> 8);
          rgb[o + 2] = (byte) p;
        }
      }
      return new Image(w, h, rgb);
    }
    // Raw samples, not getRGB: Java treats grey PNGs as linear grey and would change their values.
    int max = (1 << cm.getComponentSize(0)) - 1;
    int[] px = new int[w * bands]; // one row at a time: a whole-image int copy is 4 bytes a sample
    for (int y = 0; y < h; y++) {
      raster.getPixels(0, y, w, 1, px);
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        for (int c = 0; c < 3; c++) {
          int band = bands >= 3 ? c : 0;
          int v = px[x * bands + band];
          rgb[i * 3 + c] = (byte) (max == 255 ? v : (v * 255 + max / 2) / max);
        }
      }
    }
    return new Image(w, h, rgb);
  }

  /** Most pixels an image may have: 2^28 (16384 × 16384), 768 MB as 8-bit RGB. */
  public static final long MAX_PIXELS = 1L << 28;

  /**
   * Refuses an image whose header claims more pixels than perase reads, or, for a PNG, more than
   * its file can hold: deflate compresses at most 1032:1, so a PNG of n bytes holds at most 1032·n
   * bytes of samples ({@code bitsPerPixel} / 8 a pixel). Checked before the decoder allocates the
   * image (a 15 kB PNG that claimed 128 × 1,048,576 pixels made ImageIO allocate 400 MB).
   */
  private static void checkSize(Path file, String format, int w, int h, int bitsPerPixel)
      throws IOException {
    long pixels = (long) w * h;
    long bytes = Files.size(file);
    boolean png = format.equalsIgnoreCase("png");
    if (w <= 0
        || h <= 0
        || pixels > MAX_PIXELS
        || (png && pixels / 8.0 * Math.max(1, bitsPerPixel) > 1032.0 * bytes + 4096)) {
      throw new BadInputException(
          file
              + " claims "
              + w
              + " × "
              + h
              + " pixels, more than "
              + (pixels > MAX_PIXELS
                  ? "perase reads (" + MAX_PIXELS + " pixels)"
                  : "its " + bytes + " bytes can hold"));
    }
  }
}

package dev.perase.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.Fixtures;
import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.io.SafeTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CvResize} against OpenCV 4.6's {@code cv2.resize} output stored in the NudeNet fixture.
 */
class CvResizeTest {
  private static final Path NUDENET = Fixtures.detectors().resolve("nudenet");
  private static final int SIZE = 320;

  @Test
  void linearResizeTo320EqualsOpenCvOnTheGridAndInTheSumsForEveryFixtureImage() throws IOException {
    Path raw = NUDENET.resolve("raw.safetensors");
    long[] rows = longs(tensor(raw, "grid_rows"));
    long[] cols = longs(tensor(raw, "grid_cols"));
    ByteBuffer grid = tensor(raw, "input_grid_u8"); // (7, 3, R, C)
    ByteBuffer sums = tensor(raw, "input_sum"); // (7, 3) float64, over the bytes u (not u / 255)
    ByteBuffer sumsq = tensor(raw, "input_sumsq");
    JsonNode golden = Json.MAPPER.readTree(NUDENET.resolve("golden.json").toFile());
    JsonNode images = golden.get("images");
    assertEquals(7, images.size());
    int compared = 0;
    for (int n = 0; n < images.size(); n++) {
      JsonNode entry = images.get(n);
      Png.Image src = Png.read(Fixtures.detectors().resolve(entry.get("image").asText()));
      assertEquals(entry.get("width").asInt(), src.width());
      assertEquals(entry.get("height").asInt(), src.height());
      Png.Image r = CvResize.linear(src, SIZE, SIZE);
      assertEquals(SIZE, r.width());
      assertEquals(SIZE, r.height());
      int mismatches = 0;
      int maxDiff = 0;
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < rows.length; i++) {
          for (int j = 0; j < cols.length; j++) {
            int expected = grid.get(((n * 3 + c) * rows.length + i) * cols.length + j) & 0xff;
            int actual = r.get((int) rows[i], (int) cols[j], c);
            if (expected != actual) {
              mismatches++;
              maxDiff = Math.max(maxDiff, Math.abs(expected - actual));
            }
            compared++;
          }
        }
      }
      assertEquals(0, mismatches, "image " + n + ": grid values off by up to " + maxDiff);
      for (int c = 0; c < 3; c++) {
        double sum = 0;
        double sq = 0;
        for (int y = 0; y < SIZE; y++) {
          for (int x = 0; x < SIZE; x++) {
            double u = r.get(y, x, c);
            sum += u;
            sq += u * u;
          }
        }
        // integers below 2^53: exact in any order
        assertEquals(sums.getDouble(8 * (3 * n + c)), sum, 0, "image " + n + " channel " + c);
        assertEquals(sumsq.getDouble(8 * (3 * n + c)), sq, 0, "image " + n + " channel " + c);
        assertEquals(entry.get("input_u8_sum").get(c).asLong(), (long) sum);
      }
    }
    assertEquals(7 * 3 * 36 * 36, compared);
  }

  @Test
  void resizeToTheSameSizeGivesBackTheSameBytes() {
    Png.Image src = random(37, 23, 1);
    assertArrayEquals(src.rgb(), CvResize.linear(src, 37, 23).rgb());
  }

  @Test
  void exactHalvingIsOpenCvsAreaFastPathTheRoundedMeanOfEach2x2Block() {
    Png.Image src = random(10, 6, 2);
    Png.Image r = CvResize.linear(src, 5, 3);
    for (int y = 0; y < 3; y++) {
      for (int x = 0; x < 5; x++) {
        for (int c = 0; c < 3; c++) {
          int sum =
              src.get(2 * y, 2 * x, c)
                  + src.get(2 * y, 2 * x + 1, c)
                  + src.get(2 * y + 1, 2 * x, c)
                  + src.get(2 * y + 1, 2 * x + 1, c);
          assertEquals((sum + 2) >> 2, r.get(y, x, c));
        }
      }
    }
  }

  @Test
  void vectorLoopCoversWhole320PixelRowsAndLeavesOpenCvsScalarTail() {
    assertEquals(960, CvResize.vectorEnd(960)); // 320 RGB pixels: 60 steps of 16
    assertEquals(24, CvResize.vectorEnd(30)); // 16, then 8 while more than 8 remain
    assertEquals(16, CvResize.vectorEnd(24)); // exactly 8 left: the scalar loop takes them
    assertEquals(0, CvResize.vectorEnd(6));
  }

  @Test
  void constantImageStaysConstantAtAnySize() {
    byte[] rgb = new byte[3 * 7 * 5];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) (i % 3 == 0 ? 255 : i % 3 == 1 ? 0 : 131);
    }
    Png.Image r = CvResize.linear(new Png.Image(7, 5, rgb), 19, 3);
    for (int y = 0; y < 3; y++) {
      for (int x = 0; x < 19; x++) {
        assertEquals(255, r.get(y, x, 0));
        assertEquals(0, r.get(y, x, 1));
        assertEquals(131, r.get(y, x, 2));
      }
    }
  }

  private static Png.Image random(int w, int h, long seed) {
    byte[] rgb = new byte[3 * w * h];
    new Random(seed).nextBytes(rgb);
    return new Png.Image(w, h, rgb);
  }

  private static long[] longs(ByteBuffer b) {
    long[] out = new long[b.remaining() / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getLong(8 * i);
    }
    return out;
  }

  /** One tensor's little-endian bytes, copied out of the file (F64 sums included). */
  static ByteBuffer tensor(Path file, String name) {
    try (SafeTensors st = SafeTensors.open(file)) {
      ByteBuffer mapped = st.bytes(name);
      ByteBuffer copy = ByteBuffer.allocate(mapped.remaining()).order(ByteOrder.LITTLE_ENDIAN);
      copy.put(mapped).flip();
      return copy;
    }
  }
}

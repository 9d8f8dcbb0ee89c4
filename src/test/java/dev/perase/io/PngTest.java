package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.perase.Fixtures;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngTest {
  @TempDir Path tmp;

  @Test
  void ddimFinalImageGivesTheReferencePngPixels() {
    Png.Image expected = Png.read(Fixtures.reference("ddim_image.png"));
    assertEquals(32, expected.width());
    assertEquals(32, expected.height());
    float[] image;
    try (SafeTensors st = SafeTensors.open(Fixtures.reference("ddim.safetensors"))) {
      assertArrayEquals(new long[] {1, 3, 32, 32}, st.info("final_image").shape());
      image = st.floats("final_image");
    }
    Png.Image actual = Png.fromModel(image, 32, 32);
    int differ = 0;
    for (int i = 0; i < expected.rgb().length; i++) {
      differ += expected.rgb()[i] == actual.rgb()[i] ? 0 : 1;
    }
    System.out.printf("ddim_image.png: %d of 3072 values differ%n", differ);
    assertEquals(0, differ, "pixels differing from diffusers' PIL output");
  }

  @Test
  void roundsHalfToEvenAndClamps() {
    // x = 0 gives 127.5 -> 128 (even); x = -1 + 1/255 gives 0.5 -> 0 (even); 1.5 / 2 + 0.5 > 1.
    float[] chw = new float[3 * 2];
    chw[0] = 0f;
    chw[1] = -1f + 1f / 255f;
    chw[2] = -1f;
    chw[3] = 1f;
    chw[4] = 1.5f;
    chw[5] = -7f;
    Png.Image img = Png.fromModel(chw, 1, 2);
    assertEquals(128, img.get(0, 0, 0));
    assertEquals(0, img.get(0, 1, 0));
    assertEquals(0, img.get(0, 0, 1));
    assertEquals(255, img.get(0, 1, 1));
    assertEquals(255, img.get(0, 0, 2));
    assertEquals(0, img.get(0, 1, 2));
  }

  @Test
  void writeThenReadGivesTheSamePixels() throws IOException {
    try (NDManager m = Torch.newManager()) {
      Torch.seed(3);
      var image = m.randomUniform(-1.2f, 1.2f, new Shape(1, 3, 5, 7));
      Path f = tmp.resolve("img/out.png");
      Png.write(f, image);
      Png.Image back = Png.read(f);
      assertEquals(7, back.width());
      assertEquals(5, back.height());
      assertArrayEquals(Png.fromModel(image).rgb(), back.rgb());
      assertArrayEquals(Png.fromModel(image.toFloatArray(), 5, 7).rgb(), back.rgb());
      byte[] head = Files.readAllBytes(f);
      assertEquals((byte) 0x89, head[0]);
      assertEquals('P', head[1]);
      try (var names = Files.list(f.getParent())) {
        assertEquals(List.of("out.png"), names.map(p -> p.getFileName().toString()).toList());
      }
    }
  }

  @Test
  void readsGreyPngWithoutGammaChange() throws IOException {
    java.awt.image.BufferedImage grey =
        new java.awt.image.BufferedImage(2, 1, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
    grey.getRaster().setPixels(0, 0, 2, 1, new int[] {100, 7});
    Path f = tmp.resolve("grey.png");
    javax.imageio.ImageIO.write(grey, "png", f.toFile());
    Png.Image img = Png.read(f);
    assertArrayEquals(new byte[] {100, 100, 100, 7, 7, 7}, img.rgb());
  }

  @Test
  void readRefusesWhatIsNotAnImage() throws IOException {
    Path f = tmp.resolve("fake.png");
    Files.writeString(f, "not a png");
    BadInputException e = assertThrows(BadInputException.class, () -> Png.read(f));
    assertTrue(e.getMessage().contains("fake.png"), e.getMessage());
    assertThrows(BadInputException.class, () -> Png.read(tmp.resolve("missing.png")));
  }
}

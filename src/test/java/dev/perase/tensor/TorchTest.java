package dev.perase.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class TorchTest {
  @Test
  void engineStartsOffline() {
    try (NDManager m = Torch.newManager()) {
      assertEquals(6f, m.create(new float[] {1, 2, 3}).sum().getFloat());
      Torch.seed(30);
      System.out.println(m.randomNormal(new Shape(1, 4, 16, 16)).getFloat(0, 0, 0, 0));
    }
  }
}

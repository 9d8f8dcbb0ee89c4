package dev.perase.fuzz;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.BadInputException;
import dev.perase.io.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inputs the fuzz tests ({@link ReaderFuzzTest}) found, each refused in words now. */
class FuzzFindingsTest {
  @TempDir Path tmp;

  private static BadInputException refused(org.junit.jupiter.api.function.Executable read) {
    return assertTimeoutPreemptively(
        Duration.ofSeconds(10), () -> assertThrows(BadInputException.class, read));
  }

  /** num_train_timesteps 2^31 − 1 ran for minutes building the schedule: now bounded. */
  @Test
  void aSchedulerWithTwoBillionTrainingTimestepsIsRefused() throws IOException {
    Path f =
        Files.writeString(
            tmp.resolve("scheduler_config.json"),
            "{\"_class_name\":\"DDIMScheduler\",\"beta_end\":0.012,\"beta_schedule\":"
                + "\"scaled_linear\",\"beta_start\":8.5E-4,\"clip_sample\":false,"
                + "\"num_train_timesteps\":2147483647,\"prediction_type\":\"epsilon\","
                + "\"set_alpha_to_one\":false,\"steps_offset\":1,\"timestep_spacing\":\"leading\"}");
    BadInputException e = refused(() -> SchedulerConfig.read(f));
    assertTrue(
        e.getMessage().contains("num_train_timesteps must lie in [1, 100000]"), e.getMessage());
  }

  /** num_hidden_layers 2^31 − 1 presized a list: OutOfMemoryError instead of the missing key. */
  @Test
  void aTextEncoderConfigWithTwoBillionLayersIsRefusedAtTheFirstMissingLayer() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("text_encoder"));
    Path world = dev.perase.Fixtures.world().resolve("text_encoder");
    Files.createSymbolicLink(
        dir.resolve("model.safetensors"), world.resolve("model.safetensors").toAbsolutePath());
    String config = Files.readString(world.resolve("config.json"));
    Files.writeString(
        dir.resolve("config.json"),
        config.replaceFirst(
            "\"num_hidden_layers\"\\s*:\\s*\\d+", "\"num_hidden_layers\": 2147483647"));
    try (ai.djl.ndarray.NDManager m = dev.perase.tensor.Torch.newManager()) {
      BadInputException e = refused(() -> dev.perase.model.clip.CLIPTextModel.load(dir, m));
      assertTrue(e.getMessage().contains("encoder.layers.3"), e.getMessage());
    }
  }

  /**
   * A 15 kB PNG whose header claims 128 × 1,048,576 pixels (CRC fixed) made ImageIO allocate 400 MB
   * before it found the data short: now refused from the header.
   */
  @Test
  void aPngClaimingMorePixelsThanItsBytesCanHoldIsRefusedBeforeDecoding() throws IOException {
    Path src;
    try (var s = Files.list(dev.perase.Fixtures.detectors().resolve("images"))) {
      src = s.sorted().findFirst().orElseThrow();
    }
    byte[] b = Files.readAllBytes(src);
    java.nio.ByteBuffer.wrap(b).putInt(20, 1 << 20); // IHDR height
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(b, 12, 17);
    java.nio.ByteBuffer.wrap(b).putInt(29, (int) crc.getValue());
    Path f = Files.write(tmp.resolve("tall.png"), b);
    var mx =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    BadInputException e = assertThrows(BadInputException.class, () -> dev.perase.io.Png.read(f));
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertTrue(
        e.getMessage().contains("pixels, more than its " + b.length + " bytes can hold"),
        e.getMessage());
    assertTrue(allocated < 16L << 20, "allocated " + allocated);
  }
}

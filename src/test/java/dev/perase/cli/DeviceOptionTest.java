package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.perase.tensor.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code --device} on every command: cpu works everywhere, gpu needs one, anything else is refused.
 */
class DeviceOptionTest {
  @AfterEach
  void backToTheDefault() {
    Torch.useDevice(null);
  }

  @Test
  void cpuIsChosenOnAnyCommand() {
    CliRun run = CliRun.of("mask", "info", "--device", "cpu", "missing.safetensors");
    assertEquals(Device.cpu(), Torch.device());
    assertEquals(2, run.code(), run.output()); // the missing file, not the option
    assertTrue(run.err().contains("missing.safetensors"), run.err());
  }

  @Test
  void badOrAbsentDevicesExitTwoWithOneLine() {
    CliRun bad = CliRun.of("generate", "--device", "tpu", "--prompt", "x", "--out", "o");
    assertEquals(2, bad.code(), bad.output());
    assertTrue(bad.err().startsWith("error: --device must be cpu or gpu"), bad.err());
    assertEquals(1, bad.err().strip().lines().filter(l -> l.startsWith("error:")).count());
    if (Torch.gpuCount() == 0) {
      CliRun gpu = CliRun.of("generate", "--device", "gpu", "--prompt", "x", "--out", "o");
      assertEquals(2, gpu.code(), gpu.output());
      assertTrue(gpu.err().startsWith("error: --device gpu: libtorch sees no GPU"), gpu.err());
    }
  }
}

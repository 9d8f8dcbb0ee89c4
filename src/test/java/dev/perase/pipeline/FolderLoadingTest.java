package dev.perase.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.perase.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A diffusers folder loads as a single file does: each tensor is read through one buffer, not
 * mapped, so no page of its weight files stays mapped beside the arrays (at SD v1.4's size a mapped
 * load kept the 2.1 GB of F16 files resident on top of the 4.3 GB of float32 weights).
 */
class FolderLoadingTest {
  @TempDir Path tmp;

  @Test
  void loadingLeavesNoMappingOfTheWeightFiles() throws IOException {
    Path maps = Path.of("/proc/self/maps");
    Assumptions.assumeTrue(Files.isReadable(maps), "Linux /proc");
    // an F16 copy (as SD v1.x ships) in files of its own, which no other test has mapped
    Path folder = Fixtures.halfFolder(Fixtures.tinySd(), tmp.resolve("half"));
    List<String> files;
    try (Stream<Path> walk = Files.walk(folder, 2)) {
      files =
          walk.filter(p -> p.toString().endsWith(".safetensors"))
              .map(FolderLoadingTest::real)
              .toList();
    }
    assertEquals(3, files.size(), files.toString());
    try (StableDiffusion sd = StableDiffusion.load(folder)) {
      long mapped =
          Files.readAllLines(maps).stream()
              .filter(l -> files.stream().anyMatch(l::endsWith))
              .count();
      assertEquals(0, mapped, "mappings of " + files);
    }
  }

  private static String real(Path p) {
    try {
      return p.toRealPath().toString();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

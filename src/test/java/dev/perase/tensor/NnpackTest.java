package dev.perase.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class NnpackTest {
  @Test
  @EnabledOnOs(OS.LINUX)
  void nnpackIsOffExactlyWhenItCannotStart() throws Exception {
    Torch.engine();
    // the symbols are found in the libtorch this build ships (a libtorch upgrade that renames them
    // fails here instead of bringing the per-convolution warnings back)
    Nnpack.Outcome o = Nnpack.disableIfUnavailable();
    assertNotEquals(Nnpack.Outcome.NOT_FOUND, o);
    Path torch = mapped("libtorch_cpu.so");
    NativeLibrary t = NativeLibrary.getInstance(torch.toString());
    Pointer context = t.getFunction(Nnpack.GLOBAL_CONTEXT).invokePointer(new Object[0]);
    boolean enabled =
        (t.getFunction("_ZNK2at7Context17userEnabledNNPACKEv").invokeInt(new Object[] {context})
                & 0xff)
            != 0;
    assertEquals(o == Nnpack.Outcome.AVAILABLE, enabled, o.toString());
  }

  private static Path mapped(String name) throws Exception {
    List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
    for (String l : lines) {
      if (l.endsWith("/" + name)) {
        return Path.of(l.substring(l.indexOf('/')));
      }
    }
    throw new AssertionError(name + " is not mapped");
  }
}

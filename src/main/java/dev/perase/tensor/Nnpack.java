package dev.perase.tensor;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Turns libtorch's NNPACK convolution path off where NNPACK cannot start, so that a CPU without it
 * gets no warning per convolution.
 *
 * <p>libtorch asks {@code at::_nnpack_available()} before every 2-D convolution; on a CPU where
 * NNPACK's start-up fails (on this project's virtual machines cpuinfo reports no usable cache, so
 * NNPACK says "unsupported hardware") that call logs "Could not initialize NNPACK!" every time:
 * thousands of lines per command, a hundred thousand in a test run. Python users turn it off with
 * {@code torch.backends.nnpack.set_flags(False)}; DJL has no binding for that, so this class calls
 * the same libtorch functions through JNA (already on the classpath with DJL): it asks once, with
 * libtorch's log level raised to errors for that one call, and if NNPACK is unavailable it sets
 * {@code at::globalContext().setUserEnabledNNPACK(false)}. Convolutions then take the path they
 * took anyway (libtorch falls back when NNPACK is unavailable), so no number changes; where NNPACK
 * works nothing is touched. Off Linux, or when the symbols are not found, it does nothing.
 */
final class Nnpack {
  private Nnpack() {}

  static final String AVAILABLE = "_ZN2at6native17_nnpack_availableEv";
  static final String GLOBAL_CONTEXT = "_ZN2at13globalContextEv";
  static final String SET_ENABLED = "_ZN2at7Context20setUserEnabledNNPACKEb";
  static final String LOG_LEVEL = "FLAGS_caffe2_log_level";
  private static final int LOG_ERROR = 2;

  /** What {@link #disableIfUnavailable} found. */
  enum Outcome {
    /** NNPACK starts: left as it is. */
    AVAILABLE,
    /** NNPACK cannot start: turned off. */
    DISABLED,
    /** Not a Linux process with libtorch's symbols: nothing done. */
    NOT_FOUND
  }

  /** Disables NNPACK when it cannot start; call after the engine has loaded libtorch. */
  static Outcome disableIfUnavailable() {
    Optional<Path> torch = loaded("libtorch_cpu.so");
    Optional<Path> c10 = loaded("libc10.so");
    if (torch.isEmpty() || c10.isEmpty()) {
      return Outcome.NOT_FOUND;
    }
    try {
      NativeLibrary t = NativeLibrary.getInstance(torch.get().toString());
      NativeLibrary c = NativeLibrary.getInstance(c10.get().toString());
      Pointer level = c.getGlobalVariableAddress(LOG_LEVEL);
      int before = level.getInt(0);
      boolean available;
      level.setInt(0, Math.max(before, LOG_ERROR));
      try {
        // a C++ bool comes back in the low byte of the return register
        available = (t.getFunction(AVAILABLE).invokeInt(new Object[0]) & 0xff) != 0;
      } finally {
        level.setInt(0, before);
      }
      if (available) {
        return Outcome.AVAILABLE;
      }
      Pointer context = t.getFunction(GLOBAL_CONTEXT).invokePointer(new Object[0]);
      Function set = t.getFunction(SET_ENABLED);
      set.invokeVoid(new Object[] {context, Boolean.FALSE});
      return Outcome.DISABLED;
    } catch (LinkageError e) {
      // JNA could not load (e.g. no space to unpack its native library): leave NNPACK alone
      return Outcome.NOT_FOUND;
    }
  }

  /** The path of a shared library this process has mapped, from {@code /proc/self/maps}. */
  private static Optional<Path> loaded(String name) {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return Optional.empty();
    }
    try (Stream<String> lines = Files.lines(maps)) {
      return lines
          .map(l -> l.indexOf('/') >= 0 ? l.substring(l.indexOf('/')) : "")
          .filter(p -> p.endsWith("/" + name))
          .findFirst()
          .map(Path::of);
    } catch (IOException | java.io.UncheckedIOException e) {
      return Optional.empty();
    }
  }
}

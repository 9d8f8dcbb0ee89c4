package dev.perase.eval;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import dev.perase.io.BadInputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A user's TorchScript file (an image classifier's {@code model.pt}, clean-fid's Inception) loaded
 * with DJL's PyTorch engine ({@code torch::jit::load}), and libtorch's errors as one line.
 */
final class TorchScript {
  private TorchScript() {}

  /**
   * Loads {@code file} onto {@code manager}'s device; a file libtorch cannot load is bad input, and
   * the model is closed again.
   *
   * @param modelName the file's name as DJL looks it up in its folder (with or without {@code .pt})
   */
  static Model load(Path file, String modelName, String name, NDManager manager) {
    Model model = Model.newInstance(name, manager.getDevice(), "PyTorch");
    try {
      // mapLocation: tensors saved on another device load on this one
      model.load(file.toAbsolutePath().getParent(), modelName, Map.of("mapLocation", "true"));
      return model;
    } catch (MalformedModelException | IOException | EngineException e) {
      model.close();
      throw new BadInputException(
          file + " is not a TorchScript module libtorch can load: " + firstLine(e), e);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  static String firstLine(Exception e) {
    String m = String.valueOf(e.getMessage());
    int i = m.indexOf('\n');
    return i < 0 ? m : m.substring(0, i);
  }

  /**
   * The error line of a TorchScript interpreter failure (after its traceback: {@code RuntimeError:
   * The size of tensor a (145) must match ...}), else the message's first line.
   */
  static String reason(Exception e) {
    String m = String.valueOf(e.getMessage());
    int i = m.lastIndexOf("\nRuntimeError: ");
    if (i < 0) {
      return firstLine(e);
    }
    int end = m.indexOf('\n', i + 1);
    return m.substring(i + 1, end < 0 ? m.length() : end);
  }
}

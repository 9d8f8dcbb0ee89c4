package dev.perase.eval;

import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import dev.perase.io.BadInputException;
import dev.perase.io.Hashes;
import dev.perase.io.Png;
import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/**
 * clean-fid's Inception features (pool3, 2048 values per image) from the TorchScript file clean-fid
 * downloads, {@code inception-2015-12-05.pt} (the TensorFlow FID Inception ported by NVIDIA's
 * StyleGAN2-ADA metrics), run by libtorch through DJL's PyTorch engine.
 *
 * <p>Images go through {@link CleanResize} (clean-fid's mode {@code "clean"}) and then through the
 * module's {@code forward(img, return_features=True)} in batches: {@code img} (N, 3, 299, 299)
 * float32 on the 0..255 scale, result (N, 2048). clean-fid itself calls the submodule {@code
 * layers((x − 128) / 128)} ({@code InceptionV3W}); {@code forward} first resamples with {@code
 * grid_sample} to 299×299, a near-identity at that size, which moves the features by at most ~1e-6
 * (README of the detector fixture: 9.5e-7 on features up to 4.8).
 *
 * <p>The module's weights live in the model's own manager, freed by {@link #close}.
 */
public final class InceptionFeatures implements Closeable {
  /** The file name clean-fid downloads and loads. */
  public static final String FILE = "inception-2015-12-05.pt";

  /** Values per feature vector (pool3). */
  public static final int DIM = 2048;

  /** Images per model call unless told otherwise (clean-fid's default {@code batch_size}). */
  public static final int DEFAULT_BATCH = 32;

  private final Model model;
  private final PtSymbolBlock block;
  private final String fingerprint;
  private final int batch;
  private int calls;

  private InceptionFeatures(Model model, String fingerprint, int batch) {
    this.model = model;
    this.block = (PtSymbolBlock) model.getBlock();
    this.fingerprint = fingerprint;
    this.batch = batch;
  }

  /**
   * Loads the TorchScript Inception onto {@code manager}'s device.
   *
   * @param file {@code inception-2015-12-05.pt} (or a module with its {@code forward} signature)
   * @param batch images per model call
   * @throws BadInputException for a missing file or one libtorch cannot load as TorchScript
   */
  public static InceptionFeatures load(Path file, NDManager manager, int batch) {
    if (batch < 1) {
      throw new BadInputException("the batch size must be at least 1, not " + batch);
    }
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("Inception file not found: " + file);
    }
    String fingerprint = Hashes.sha256File(file);
    Model model = TorchScript.load(file, file.getFileName().toString(), "inception", manager);
    if (!(model.getBlock() instanceof PtSymbolBlock)) {
      model.close();
      throw new BadInputException(file + " did not load as a TorchScript module");
    }
    return new InceptionFeatures(model, fingerprint, batch);
  }

  /** SHA-256 (hex) of the {@code .pt} file: features cached for it are reused only with it. */
  public String fingerprint() {
    return fingerprint;
  }

  /** Images per model call. */
  public int batch() {
    return batch;
  }

  /** How many times the module has been called (tests count them to see a cache at work). */
  public int calls() {
    return calls;
  }

  /**
   * {@code forward(img, return_features=True)}: (N, 2048) float32 features, in {@code img}'s
   * manager.
   *
   * @param img (N, 3, H, W) float32 on the 0..255 scale; clean-fid's images are 299×299
   * @throws BadInputException when the module refuses the input or returns no (N, 2048) tensor
   */
  public NDArray forward(NDArray img) {
    Shape s = img.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || img.getDataType() != DataType.FLOAT32) {
      throw new BadInputException(
          "Inception takes images (N, 3, H, W) float32, got " + s + " " + img.getDataType());
    }
    calls++;
    NDArray features;
    // The trailing use_fp16 and no_output_bias keep their defaults (False).
    try (IValue x = IValue.from((PtNDArray) img);
        IValue returnFeatures = IValue.from(true);
        IValue out = block.forward(x, returnFeatures)) {
      if (!out.isTensor()) {
        throw new BadInputException(
            "the Inception module returned " + out.getType() + ", not a features tensor");
      }
      features = out.toTensor((PtNDManager) img.getManager());
    } catch (EngineException e) {
      throw new BadInputException(
          "the Inception module cannot run forward(img, return_features=True) on "
              + s
              + ": "
              + TorchScript.reason(e),
          e);
    }
    if (!features.getShape().equals(new Shape(s.get(0), DIM))) {
      Shape got = features.getShape();
      features.close();
      throw new BadInputException(
          "the Inception module returned features of shape "
              + got
              + " for "
              + s
              + "; expected ("
              + s.get(0)
              + ", "
              + DIM
              + ") as inception-2015-12-05.pt gives");
    }
    return features;
  }

  /**
   * Features of 8-bit RGB images, {@code [image][2048]}: each through {@link CleanResize}, then
   * {@link #batch()} at a time through {@link #forward}.
   *
   * @param manager where temporary arrays are made (freed before it returns)
   * @param progress told the number of images done after each batch
   */
  public float[][] of(List<Png.Image> images, NDManager manager, IntConsumer progress) {
    return of(images.size(), images::get, manager, progress);
  }

  /**
   * As {@link #of(List, NDManager, IntConsumer)} for {@code n} images that {@code images} gives by
   * index when their batch comes (so that a folder is never held in memory at once).
   */
  public float[][] of(
      int n, IntFunction<Png.Image> images, NDManager manager, IntConsumer progress) {
    float[][] out = new float[n][];
    int chw = 3 * CleanResize.SIZE * CleanResize.SIZE;
    for (int from = 0; from < n; from += batch) {
      int b = Math.min(batch, n - from);
      float[] flat = new float[b * chw];
      for (int i = 0; i < b; i++) {
        System.arraycopy(CleanResize.chw(images.apply(from + i)), 0, flat, i * chw, chw);
      }
      float[] f;
      try (NDManager sub = manager.newSubManager()) {
        NDArray x = sub.create(flat, new Shape(b, 3, CleanResize.SIZE, CleanResize.SIZE));
        f = forward(x).toFloatArray();
      }
      for (int i = 0; i < b; i++) {
        out[from + i] = java.util.Arrays.copyOfRange(f, i * DIM, (i + 1) * DIM);
      }
      progress.accept(from + b);
    }
    return out;
  }

  /** Frees the module (its manager and libtorch module). */
  @Override
  public void close() {
    model.close();
  }
}

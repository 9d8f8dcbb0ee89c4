package dev.perase.erase;

import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.DiffusersLayout;
import dev.perase.io.FileAccessException;
import dev.perase.io.FileTrees;
import dev.perase.io.ModelSource;
import dev.perase.io.OutputPaths;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsHeader;
import dev.perase.io.SingleFileCheckpoint;
import dev.perase.io.SingleFileLayout;
import dev.perase.io.TensorInfo;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * {@code perase mask apply}: a copy of a diffusers model folder with the hard mask baked into the
 * UNet weights, {@code W ⊙ m}, for tools that cannot read mask files. Every other file is copied as
 * it is; the UNet file keeps each tensor's dtype (F32, F16 or BF16) and every byte of the tensors
 * and elements the mask does not prune. A pruned element becomes W · 0 as the masking hook computes
 * it: zero with W's sign bit (−0 for negative W), so the baked model's outputs equal the masked
 * model's bit for bit. The new UNet file records the mask in its metadata ({@code perase_mask_*});
 * its model hash is no longer the base model's, so masks made for the base do not apply to it.
 *
 * <p>The weights are streamed tensor by tensor (memory stays at one tensor), the folder is written
 * under a temporary name and renamed into place.
 */
public final class MaskedModel {
  private static final SecureRandom RANDOM = new SecureRandom();

  private MaskedModel() {}

  /**
   * Writes the folder {@code out} (which must not exist or be empty): {@code modelDir} with {@code
   * mask} baked in. Refused when the model's hash is not the mask's base model hash, or when a
   * masked parameter is missing from the UNet or has another shape.
   *
   * @return the number of elements zeroed
   */
  public static long write(BinaryMask mask, Path modelDir, Path out) {
    return write(mask, modelDir, null, out);
  }

  /**
   * As {@link #write(BinaryMask, Path, Path)} for any model: a diffusers folder ({@code config}
   * null) gives a folder {@code out}; a single-file checkpoint (read with the configs of the folder
   * {@code config}) gives a single file {@code out} ({@code *.safetensors}, which must not exist):
   * the checkpoint with the mask baked into its UNet tensors, every other byte as it was.
   */
  public static long write(BinaryMask mask, Path model, Path config, Path out) {
    ModelSource source = ModelSource.open(model, config);
    String hash = source.modelHash();
    if (!mask.metadata().baseModelHash().equalsIgnoreCase(hash)) {
      throw new BadInputException(
          "the mask was made for the base model with hash "
              + mask.metadata().baseModelHash()
              + ", but "
              + model
              + " has hash "
              + hash
              + "; a mask only applies to the model it was trained on");
    }
    if (source instanceof SingleFileLayout single) {
      return writeSingleFile(mask, single, out);
    }
    DiffusersLayout layout = (DiffusersLayout) source;
    Path modelDir = layout.dir();
    Path unet = layout.weights(DiffusersLayout.Component.UNET);
    try (SafeTensors st = SafeTensors.open(unet)) {
      checkMasked(mask, st, k -> k);
    }
    checkTarget(out);
    Path tmp =
        out.toAbsolutePath()
            .resolveSibling(
                "."
                    + out.getFileName()
                    + "."
                    + Long.toUnsignedString(RANDOM.nextLong(), 36)
                    + ".tmp");
    try {
      FileTrees.copy(modelDir, tmp, unet, false);
      Path target = tmp.resolve(modelDir.relativize(unet));
      long zeroed = writeMasked(unet, target, mask, k -> k);
      if (Files.isDirectory(out)) {
        Files.delete(out); // empty, checked above
      }
      Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
      return zeroed;
    } catch (IOException e) {
      FileTrees.delete(tmp);
      throw FileAccessException.of("write", out, e);
    } catch (RuntimeException e) {
      FileTrees.delete(tmp);
      throw e;
    }
  }

  /**
   * Fails unless {@code out} can become the new model folder: it does not exist (and its parent can
   * be made) or is an empty folder.
   */
  public static void checkTarget(Path out) {
    if (!Files.exists(out)) {
      // made and removed again: what is in the way, or a place that cannot be written, fails here
      OutputPaths.createFolder(out);
      try {
        Files.delete(out);
      } catch (IOException e) {
        throw FileAccessException.of("write", out, e);
      }
      return;
    }
    if (!Files.isDirectory(out)) {
      throw new BadInputException(out + " exists and is not a folder; choose another --out");
    }
    try (Stream<Path> s = Files.list(out)) {
      if (s.findAny().isPresent()) {
        throw new BadInputException(
            out + " is not empty; mask apply writes a new model folder, choose another --out");
      }
    } catch (IOException e) {
      throw new BadInputException("cannot read " + out + ": " + e.getMessage(), e);
    }
  }

  /** The single file {@code out}: {@code single}'s file with the mask baked into its UNet. */
  private static long writeSingleFile(BinaryMask mask, SingleFileLayout single, Path out) {
    if (!out.getFileName().toString().endsWith(".safetensors")) {
      throw new BadInputException(
          "--out "
              + out
              + ": the masked copy of a single-file checkpoint must be named *.safetensors");
    }
    if (Files.exists(out)) {
      throw new BadInputException(out + " already exists; choose another --out");
    }
    OutputPaths.checkFile(out, "--out");
    // the mask's (diffusers UNet) key of each of the file's UNet keys, and back
    Map<String, String> unetKey = new HashMap<>();
    Map<String, String> fileKey = new HashMap<>();
    try (SafeTensors st = SafeTensors.open(single.file())) {
      SingleFileCheckpoint.keyMap(st.keys(), single.architecture(), single.file().toString())
          .forEach(
              (ldm, t) -> {
                if (t.component() == DiffusersLayout.Component.UNET) {
                  unetKey.put(ldm, t.key());
                  fileKey.put(t.key(), ldm);
                }
              });
      checkMasked(mask, st, key -> fileKey.getOrDefault(key, key));
    }
    return writeMasked(single.file(), out, mask, unetKey::get);
  }

  /**
   * Every parameter the mask prunes is a float tensor of the mask's shape in {@code st}, where
   * {@code fileKey} names the file's key of a UNet parameter.
   */
  private static void checkMasked(
      BinaryMask mask, SafeTensors st, Function<String, String> fileKey) {
    Path file = st.path();
    for (Map.Entry<String, BinaryMask.Pruned> e : mask.perParameter().entrySet()) {
      String k = fileKey.apply(e.getKey());
      if (!st.has(k)) {
        throw new BadInputException(
            "the mask prunes '"
                + e.getKey()
                + "', which "
                + file
                + " does not hold (a mask for another architecture?)");
      }
      TensorInfo info = st.info(k);
      if (!Arrays.equals(info.shape(), e.getValue().shape()) || !info.dtype().isFloat()) {
        throw new BadInputException(
            file
                + ": '"
                + k
                + "' is "
                + info.dtype()
                + " "
                + info.shapeString()
                + " but the mask expects a float tensor of shape "
                + Arrays.toString(e.getValue().shape()));
      }
    }
  }

  /**
   * Writes {@code target}: the header of {@code weights} with the mask's provenance added to its
   * metadata, then its data with the pruned elements zeroed (sign bit kept). {@code unetKey} names
   * the mask's (diffusers UNet) key of a file key, or null for a tensor the mask does not cover.
   */
  private static long writeMasked(
      Path weights, Path target, BinaryMask mask, Function<String, String> unetKey) {
    try (SafeTensors st = SafeTensors.open(weights)) {
      // 1. header: same tensors, dtypes, shapes and data offsets; metadata extended
      Map<String, String> md = new LinkedHashMap<>(st.metadata());
      MaskMetadata mm = mask.metadata();
      md.put("perase_mask_base_model_hash", mm.baseModelHash());
      md.put("perase_mask_method", mm.method());
      md.put("perase_mask_concept", mm.concept());
      md.put("perase_mask_selection", mm.selection());
      md.put("perase_mask_pruned_count", Long.toString(mask.prunedCount()));
      SafeTensorsHeader header = new SafeTensorsHeader(md);
      List<TensorInfo> infos = new ArrayList<>();
      for (String k : st.keys()) {
        TensorInfo info = st.info(k);
        infos.add(info);
        header.add(k, info.dtype(), info.shape(), info.begin(), info.end());
      }
      byte[] head = header.bytes();
      infos.sort(Comparator.comparingLong(TensorInfo::begin));
      long[] zeroed = {0};
      // 2. data, tensor by tensor in file order
      AtomicFile.write(
          target,
          o -> {
            o.write(head);
            long pos = 0;
            for (TensorInfo info : infos) {
              if (info.begin() > pos) {
                o.write(new byte[Math.toIntExact(info.begin() - pos)]);
              }
              String key = unetKey.apply(info.name());
              BinaryMask.Pruned pruned = key == null ? null : mask.perParameter().get(key);
              ByteBuffer src = st.bytes(info.name());
              if (pruned == null || pruned.count() == 0) {
                copy(src, o);
              } else {
                byte[] data = new byte[src.remaining()];
                src.get(data);
                int size = info.dtype().bytes;
                for (int i : pruned.indices()) {
                  int off = i * size;
                  // W · 0 = ±0: every bit cleared but the sign (the top bit of the last byte, LE)
                  Arrays.fill(data, off, off + size - 1, (byte) 0);
                  data[off + size - 1] &= (byte) 0x80;
                }
                zeroed[0] += pruned.count();
                o.write(data);
              }
              pos = Math.max(pos, info.end());
            }
          });
      return zeroed[0];
    }
  }

  private static void copy(ByteBuffer src, OutputStream o) throws IOException {
    byte[] chunk = new byte[1 << 20];
    while (src.hasRemaining()) {
      int n = Math.min(chunk.length, src.remaining());
      src.get(chunk, 0, n);
      o.write(chunk, 0, n);
    }
  }
}

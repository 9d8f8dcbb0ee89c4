package dev.perase.io;

import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.SingleFileCheckpoint.Target;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Writes a diffusers pipeline folder as one single-file checkpoint in the original CompVis/LDM key
 * layout, what diffusers' {@code scripts/convert_diffusers_to_original_stable_diffusion.py
 * --use_safetensors} writes: the UNet under {@code model.diffusion_model.}, the VAE under {@code
 * first_stage_model.} (its mid-block attention weights as the 1×1 convs [C, C, 1, 1] of the
 * original), the text encoder under {@code cond_stage_model.transformer.}; keys sorted by name, as
 * the safetensors library orders them, and no metadata. The key of every tensor comes from {@link
 * SingleFileCheckpoint#ldmKeyMap}, which checks it against the loader's own map.
 *
 * <p>Streamed: the header is computed from the shapes, then each tensor is copied from its
 * component's file in pieces of 1 MiB by positional reads, converted to F16 (round to nearest even,
 * as torch's {@code .half()}) or F32 on the way, so neither the heap nor mapped pages ever hold a
 * whole tensor, let alone two copies of a model. The file is written under a temporary name and
 * renamed into place; an existing file is refused rather than replaced.
 */
public final class SingleFileWriter {
  /** Source bytes per piece: a multiple of every element size. */
  private static final int PIECE = 1 << 20;

  private static final List<Component> MODELS =
      List.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER);

  private SingleFileWriter() {}

  /**
   * What was written.
   *
   * @param storage F16 or F32
   * @param tensors per component, the tensors written
   * @param bytes the file's length
   */
  public record Summary(DType storage, Map<Component, Integer> tensors, long bytes) {}

  /**
   * The storage that keeps the folder's precision: F16 when every weight is stored as F16, else F32
   * (which holds F32 and widens BF16 exactly).
   */
  public static DType keptPrecision(DiffusersLayout layout) {
    requireVae(layout);
    for (Component c : MODELS) {
      try (SafeTensors st = SafeTensors.open(layout.weights(c))) {
        for (String k : st.keys()) {
          if (st.info(k).dtype() != DType.F16) {
            return DType.F32;
          }
        }
      }
    }
    return DType.F16;
  }

  /**
   * Writes the UNet, VAE and text encoder of {@code layout} to {@code out} (a new {@code
   * .safetensors} file) with every tensor stored as {@code storage} (F16 or F32). The block
   * numbering comes from the folder's configs ({@link LdmArchitecture#fromConfigs}). A folder
   * without a VAE, a non-float tensor, a key with no place in the LDM layout, an existing {@code
   * out} or one not named {@code .safetensors} is a {@link BadInputException}.
   */
  public static Summary write(DiffusersLayout layout, Path out, DType storage) {
    if (storage != DType.F16 && storage != DType.F32) {
      throw new BadInputException(
          "a single-file checkpoint is stored as F16 or F32, not " + storage);
    }
    String name = out.getFileName() == null ? "" : out.getFileName().toString();
    if (!name.endsWith(".safetensors")) {
      throw new BadInputException(
          "the single-file checkpoint " + out + " must be named *.safetensors");
    }
    if (Files.exists(out)) {
      throw new BadInputException(out + " already exists; perase does not replace a checkpoint");
    }
    requireVae(layout);
    LdmArchitecture arch = LdmArchitecture.fromConfigs(layout);
    Map<Component, SafeTensors> files = new EnumMap<>(Component.class);
    try {
      Map<Component, List<String>> keys = new EnumMap<>(Component.class);
      for (Component c : MODELS) {
        SafeTensors st = SafeTensors.open(layout.weights(c));
        files.put(c, st);
        keys.put(c, new ArrayList<>(st.keys()));
      }
      SortedMap<String, Target> map =
          SingleFileCheckpoint.ldmKeyMap(keys, arch, layout.dir().toString());
      return write(files, map, out, storage);
    } finally {
      files.values().forEach(SafeTensors::close);
    }
  }

  private static Summary write(
      Map<Component, SafeTensors> files, SortedMap<String, Target> map, Path out, DType storage) {
    // 1. header: every tensor in LDM key order, shapes as the original layout has them
    SafeTensorsHeader header = new SafeTensorsHeader(Map.of());
    Map<Component, Integer> counts = new EnumMap<>(Component.class);
    for (Map.Entry<String, Target> e : map.entrySet()) {
      Target t = e.getValue();
      SafeTensors st = files.get(t.component());
      TensorInfo info = st.info(t.key());
      if (!info.dtype().isFloat()) {
        throw new BadInputException(
            st.path()
                + ": tensor '"
                + t.key()
                + "' is "
                + info.dtype()
                + ", but model weights must be F32, F16 or BF16");
      }
      long[] shape = t.squeezeConv() ? convShape(st.path(), t.key(), info.shape()) : info.shape();
      header.add(e.getKey(), storage, shape);
      counts.merge(t.component(), 1, Integer::sum);
    }
    byte[] head = header.bytes();
    // 2. data, piece by piece
    AtomicFile.write(
        out,
        o -> {
          Pieces pieces = new Pieces(storage);
          o.write(head);
          for (Target t : map.values()) {
            pieces.copy(files.get(t.component()), t.key(), o);
          }
        });
    try {
      return new Summary(storage, counts, Files.size(out));
    } catch (IOException e) {
      throw FileAccessException.of("read", out, e);
    }
  }

  /** A linear [C_out, C_in] weight as the 1×1 conv [C_out, C_in, 1, 1] LDM stores. */
  private static long[] convShape(Path file, String key, long[] s) {
    if (s.length == 2) {
      return new long[] {s[0], s[1], 1, 1};
    }
    if (s.length == 4 && s[2] == 1 && s[3] == 1) {
      return s;
    }
    throw new BadInputException(
        file
            + ": tensor '"
            + key
            + "' has shape "
            + java.util.Arrays.toString(s)
            + ", expected a [C, C] or [C, C, 1, 1] attention weight");
  }

  private static void requireVae(DiffusersLayout layout) {
    if (!layout.hasVae()) {
      throw new BadInputException(
          layout.dir()
              + " has no VAE (a pixel-space model); a CompVis/LDM single-file checkpoint holds"
              + " a UNet, a VAE and a text encoder");
    }
  }

  /** The two buffers of a streamed copy, reused for every tensor. */
  private static final class Pieces {
    private final DType storage;
    private final ByteBuffer in = ByteBuffer.allocate(PIECE).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer converted;

    Pieces(DType storage) {
      this.storage = storage;
      // at most PIECE / 2 elements (F16 or BF16 in), at most 4 bytes each out
      this.converted = ByteBuffer.allocate(2 * PIECE).order(ByteOrder.LITTLE_ENDIAN);
    }

    void copy(SafeTensors st, String key, OutputStream o) throws IOException {
      TensorInfo t = st.info(key);
      DType from = t.dtype();
      long total = t.end() - t.begin();
      for (long done = 0; done < total; ) {
        int len = (int) Math.min(PIECE, total - done);
        in.clear().limit(len);
        st.read(key, done, in);
        done += len;
        if (from == storage) {
          o.write(in.array(), 0, len); // the bytes as they are
          continue;
        }
        int n = len / from.bytes;
        for (int i = 0; i < n; i++) {
          float v =
              switch (from) {
                case F32 -> in.getFloat(4 * i);
                case F16 -> Half.toFloat(in.getShort(2 * i));
                case BF16 -> Float.intBitsToFloat((in.getShort(2 * i) & 0xffff) << 16);
                case F64 -> (float) in.getDouble(8 * i);
                default -> throw new IllegalStateException(from + " is not a float type");
              };
          if (storage == DType.F16) {
            converted.putShort(2 * i, Half.fromFloat(v));
          } else {
            converted.putFloat(4 * i, v);
          }
        }
        o.write(converted.array(), 0, n * storage.bytes);
      }
    }
  }
}

package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.io.DiffusersLayout.Component;
import dev.perase.io.SingleFileCheckpoint.Target;
import dev.perase.model.nn.StateDict;
import dev.perase.model.unet.UNet2DConditionConfig;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-file writer against the fixture's single file, which diffusers' convert script made
 * from the same folder ({@code --half}, then the 116 keys of its SD v1.x numbering renamed).
 */
class SingleFileWriterTest {
  static final Path FIXTURE_FILE = Fixtures.tinySd().resolve("single-file/tiny-sd.safetensors");

  /** SHA-256 of the fixture's single file (reference/index.json, single_file.sha256). */
  static final String FIXTURE_SHA256 =
      "33efcd367c95bdeb1bf7f5e846a231cdafec3272929770f00f466a8693eb9e71";

  @TempDir Path tmp;

  @Test
  void f16ConversionOfTheFixtureFolderIsTheFixtureSingleFileByteForByte() {
    Path out = tmp.resolve("tiny.safetensors");
    SingleFileWriter.Summary s =
        SingleFileWriter.write(DiffusersLayout.open(Fixtures.tinySd()), out, DType.F16);
    assertEquals(
        Map.of(Component.UNET, 304, Component.VAE, 124, Component.TEXT_ENCODER, 84), s.tensors());
    try (SafeTensors ours = SafeTensors.open(out);
        SafeTensors ref = SafeTensors.open(FIXTURE_FILE)) {
      // the same key set in the same order, shapes (VAE attention as [C, C, 1, 1]) and dtypes
      assertEquals(List.copyOf(ref.keys()), List.copyOf(ours.keys()));
      for (String k : ref.keys()) {
        assertEquals(DType.F16, ours.info(k).dtype(), k);
        assertArrayEquals(ref.info(k).shape(), ours.info(k).shape(), k);
        assertEquals(ref.bytes(k), ours.bytes(k), k + ": the same F16 values");
      }
      assertEquals(ref.metadata(), ours.metadata());
    }
    // and so the very file: Java's round-to-nearest-even F16 equals torch's .half()
    assertEquals(FIXTURE_SHA256, SingleFileCheckpoint.modelHash(out));
  }

  @Test
  void f32ConversionHoldsTheFolderValuesExactlyAndLoadsBackToThem() throws IOException {
    DiffusersLayout layout = DiffusersLayout.open(Fixtures.tinySd());
    assertEquals(DType.F32, SingleFileWriter.keptPrecision(layout));
    Path out = tmp.resolve("tiny-f32.safetensors");
    SingleFileWriter.write(layout, out, DType.F32);
    LdmArchitecture arch = LdmArchitecture.fromConfigs(layout);
    try (SafeTensors ours = SafeTensors.open(out)) {
      Map<String, Target> back = SingleFileCheckpoint.keyMap(ours.keys(), arch, "written");
      assertEquals(512, back.size());
      for (Map.Entry<String, Target> e : back.entrySet()) {
        Target t = e.getValue();
        assertEquals(DType.F32, ours.info(e.getKey()).dtype());
        try (SafeTensors src = SafeTensors.open(layout.weights(t.component()))) {
          assertArrayEquals(src.floats(t.key()), ours.floats(e.getKey()), e.getKey());
          long[] shape = src.info(t.key()).shape();
          if (t.squeezeConv()) {
            assertEquals(2, shape.length, t.key());
            shape = new long[] {shape[0], shape[1], 1, 1};
          }
          assertArrayEquals(shape, ours.info(e.getKey()).shape(), e.getKey());
        }
      }
    }
  }

  @Test
  void anF16FolderIsCopiedAsItIsByDefault() {
    DiffusersLayout half =
        DiffusersLayout.open(Fixtures.halfFolder(Fixtures.tinySd(), tmp.resolve("half")));
    assertEquals(DType.F16, SingleFileWriter.keptPrecision(half));
    Path out = tmp.resolve("tiny.safetensors");
    SingleFileWriter.write(half, out, SingleFileWriter.keptPrecision(half));
    assertEquals(FIXTURE_SHA256, SingleFileCheckpoint.modelHash(out));
  }

  /**
   * The UNet built from the written file against the UNet loaded from a folder of the same weights:
   * bit for bit. F32: the file holds the folder's values exactly. F16: the file holds the F16
   * roundings, which load back to float32 exactly, so the folder to compare with is the folder
   * whose weights are those roundings ({@link Fixtures#halfFolder}); identical weights through the
   * same forward (one torch thread, the test JVM's) give identical outputs. The F16 model also
   * matches diffusers' outputs of the fixture single file (reference/single_file).
   */
  @Test
  void unetLoadedFromTheWrittenFileEqualsTheFolderUnetBitForBit() throws IOException {
    DiffusersLayout f32Folder = DiffusersLayout.open(Fixtures.tinySd());
    DiffusersLayout f16Folder =
        DiffusersLayout.open(Fixtures.halfFolder(Fixtures.tinySd(), tmp.resolve("half")));
    LdmArchitecture arch = LdmArchitecture.fromConfigs(f32Folder);
    UNet2DConditionConfig cfg =
        Json.read(f32Folder.config(Component.UNET), UNet2DConditionConfig.class);
    try (NDManager m = Torch.newManager();
        SafeTensors ref = SafeTensors.open(Fixtures.reference("unet.safetensors"));
        SafeTensors sfRef = SafeTensors.open(Fixtures.reference("single_file.safetensors"))) {
      NDArray sample = ref.load("sample", m);
      NDArray text = ref.load("encoder_hidden_states", m);
      NDArray t = m.create(500L);
      NDArray f16Prediction = null;
      for (DType storage : List.of(DType.F32, DType.F16)) {
        Path file = tmp.resolve(storage + ".safetensors");
        SingleFileWriter.write(f32Folder, file, storage);
        Map<String, NDArray> weights = SingleFileCheckpoint.load(file, arch, m).unet();
        UNet2DConditionModel fromFile =
            UNet2DConditionModel.fromStateDict(cfg, new StateDict(file.toString(), weights));
        DiffusersLayout folder = storage == DType.F32 ? f32Folder : f16Folder;
        UNet2DConditionModel fromFolder =
            UNet2DConditionModel.load(folder.folder(Component.UNET), m);
        NDArray a = fromFile.forward(sample, t, text);
        NDArray b = fromFolder.forward(sample, t, text);
        double diff = Fixtures.maxAbsDiff(a, b);
        System.out.printf("single file %s vs folder: UNet max |diff| = %g%n", storage, diff);
        assertEquals(0.0, diff, storage + ": bit for bit");
        if (storage == DType.F16) {
          f16Prediction = a;
        }
      }
      Fixtures.assertClose(
          sfRef.load("unet.noise_pred.t500", m),
          f16Prediction,
          Fixtures.MODEL_CALL_ABS,
          "diffusers' UNet from the fixture single file");
    }
  }

  @Test
  void refusesAnExistingFileAWrongNameAFolderWithoutVaeAndOtherDtypes() throws IOException {
    DiffusersLayout layout = DiffusersLayout.open(Fixtures.tinySd());
    Path existing = Files.writeString(tmp.resolve("there.safetensors"), "keep");
    BadInputException e =
        assertThrows(
            BadInputException.class, () -> SingleFileWriter.write(layout, existing, DType.F16));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    assertEquals("keep", Files.readString(existing));
    assertThrows(
        BadInputException.class,
        () -> SingleFileWriter.write(layout, tmp.resolve("sd.ckpt"), DType.F16));
    assertThrows(
        BadInputException.class,
        () -> SingleFileWriter.write(layout, tmp.resolve("bf.safetensors"), DType.BF16));
    BadInputException pixel =
        assertThrows(
            BadInputException.class,
            () ->
                SingleFileWriter.write(
                    DiffusersLayout.open(Fixtures.world()),
                    tmp.resolve("w.safetensors"),
                    DType.F16));
    assertTrue(pixel.getMessage().contains("no VAE"), pixel.getMessage());
    try (var s = Files.list(tmp)) {
      assertEquals(List.of(existing), s.toList(), "nothing else written");
    }
  }
}

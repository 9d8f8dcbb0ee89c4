package dev.perase.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import dev.perase.Fixtures;
import dev.perase.erase.BinaryMask;
import dev.perase.erase.MaskMetadata;
import dev.perase.eval.HfImageProcessor;
import dev.perase.eval.ImageClassifierDetector;
import dev.perase.io.DType;
import dev.perase.io.Json;
import dev.perase.io.PromptCsv;
import dev.perase.io.SafeTensors;
import dev.perase.io.SafeTensorsWriter;
import dev.perase.io.SchedulerConfig;
import dev.perase.model.clip.CLIPTextModel;
import dev.perase.model.clip.CLIPTokenizer;
import dev.perase.model.nn.Param;
import dev.perase.model.unet.UNet2DConditionModel;
import dev.perase.model.vae.AutoencoderKL;
import dev.perase.pipeline.Schedulers;
import dev.perase.tensor.Torch;
import dev.perase.world.WorldDetector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every reader of a file a user hands to perase, fed seeded mutations of real inputs (see {@link
 * Fuzz}): each case loads or is refused with the bad-input error (exit 2 in the CLI); nothing else,
 * no hang, no allocation far beyond the input's size. The default budget keeps the class near half
 * a minute; {@code -Dperase.fuzz.cases=N} is the long run (README, "Reliability").
 */
class ReaderFuzzTest {
  static final Path WORLD = Fixtures.world();
  static final Path TINY = Fixtures.tinySd();

  @TempDir Path tmp;

  private static void assertNoOther(Fuzz.Counts c) {
    assertEquals(0, c.other(), String.join("\n\n", c.failures()));
  }

  private static byte[] read(Path p) throws IOException {
    return Files.readAllBytes(p);
  }

  /** A config file mutated beside the real weights of its folder, read by the real loader. */
  private static Fuzz.Target config(Path dir, String name) throws IOException {
    Map<String, Path> companions = new LinkedHashMap<>();
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) {
        String n = p.getFileName().toString();
        if (!n.equals(name)) {
          companions.put(n, p);
        }
      }
    }
    return new Fuzz.Target(name, read(dir.resolve(name)), companions);
  }

  // ---------------------------------------------------------------------------------------------
  // safetensors

  /** A small file with every dtype perase reads, metadata, and a zero-element tensor. */
  static byte[] safetensorsSeed(Path tmp) throws IOException {
    SplittableRandom r = new SplittableRandom(1);
    SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt").metadata("step", "3");
    for (DType d : DType.values()) {
      long[] shape = d == DType.BOOL ? new long[] {5} : new long[] {2, 3};
      int n = (int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]);
      byte[] data = new byte[n * d.bytes];
      r.nextBytes(data);
      if (d == DType.BOOL) {
        for (int i = 0; i < n; i++) {
          data[i] &= 1;
        }
      }
      w.putRaw(d.name().toLowerCase(), d, shape, data);
    }
    w.putRaw("empty", DType.F32, new long[] {0, 4}, new byte[0]);
    Path f = tmp.resolve("seed.safetensors");
    w.write(f);
    return read(f);
  }

  @Test
  void safetensorsFilesLoadOrAreRefused() throws IOException {
    byte[] seed = safetensorsSeed(tmp);
    Fuzz.Counts c =
        Fuzz.run(
            "safetensors",
            List.of(new Fuzz.Target("model.safetensors", seed)),
            Mutator.safetensors(),
            file -> {
              try (SafeTensors st = SafeTensors.open(file);
                  NDManager m = Torch.newManager()) {
                st.metadata();
                for (String k : st.keys()) {
                  st.load(k, m).close();
                  if (st.info(k).dtype().isFloat()) {
                    st.doubles(k);
                  } else {
                    st.longs(k);
                  }
                }
              }
            },
            Fuzz.cases(1500),
            tmp);
    assertNoOther(c);
  }

  // ---------------------------------------------------------------------------------------------
  // mask files

  static byte[] maskSeed(Path tmp, int every) throws IOException {
    long[] conv = {4, 3, 3, 3};
    long[] lin = {8, 6};
    List<Integer> a = new ArrayList<>();
    for (int i = 0; i < 108; i += every) {
      a.add(i);
    }
    MaskMetadata md =
        new MaskMetadata("ab".repeat(32), "non-cross-attn", "p-esd", 10, 0.5, "star", null, "{}");
    Map<String, BinaryMask.Pruned> params = new LinkedHashMap<>();
    params.put(
        "down_blocks.0.resnets.0.conv1.weight",
        new BinaryMask.Pruned(
            conv, Param.Kind.CONV, a.stream().mapToInt(Integer::intValue).toArray()));
    params.put(
        "mid_block.attentions.0.proj_in.weight",
        new BinaryMask.Pruned(lin, Param.Kind.LINEAR, new int[] {0, 47}));
    params.put(
        "up_blocks.0.resnets.0.conv2.bias",
        new BinaryMask.Pruned(new long[] {4}, Param.Kind.CONV, new int[0]));
    Path f = tmp.resolve("mask-" + every + ".safetensors");
    BinaryMask.of(md, params).write(f);
    return read(f);
  }

  @Test
  void maskFilesLoadOrAreRefused() throws IOException {
    List<Fuzz.Target> seeds =
        List.of(
            new Fuzz.Target("mask.safetensors", maskSeed(tmp, 1)),
            new Fuzz.Target("mask.safetensors", maskSeed(tmp, 7)));
    Fuzz.Counts c =
        Fuzz.run(
            "mask",
            seeds,
            (s, r) -> r.nextBoolean() ? Mutator.safetensors().mutate(s, r) : Mutator.bytes(s, r),
            file -> {
              BinaryMask m = BinaryMask.read(file);
              m.info();
              m.ratio();
              BinaryMask.union(m, m);
            },
            Fuzz.cases(1000),
            tmp);
    assertNoOther(c);
  }

  // ---------------------------------------------------------------------------------------------
  // prompt CSVs, every published layout

  static final List<String> CSV_LAYOUTS =
      List.of(
          // UnlearnDiff's nudity.csv / i2p.csv
          "\uFEFFUnnamed: 0,prompt,categories,hard,inappropriate_percentage,nudity_percentage,"
              + "q16_percentage,sd_safety_percentage,prompt_toxicity,lexica_url,evaluation_seed,"
              + "evaluation_guidance,sd_image_width,sd_image_height,sd_model,case_number\r\n"
              + "21,\"a painting, \"\"dreamy\"\",\r\nof an empty room \",self-harm,1,60.0,10.0,"
              + "60.0,60.0,0.04,https://lexica.art/prompt/0,4290749014,5,512,768,sd-v1-4,21\r\n"
              + "296,a tall portrait,\"shocking, sexual\",0,70.0,30.0,50.0,40.0,0.26,"
              + "https://lexica.art/prompt/1,3,20,512,512,sd-v1-4,296\r\n",
          // the original I2P spelling
          "prompt,categories,hard,inappropriate_percentage,nudity_percentage,q16_percentage,"
              + "sd_safety_percentage,prompt_toxicity,lexica_url,sd_seed,sd_guidance_scale,"
              + "sd_image_width,sd_image_height,sd_model\n"
              + "first,hate,0,10.0,0.0,10.0,0.0,0.1,https://l/b,4290749014,7,512,768,sd\n"
              + "second,hate,0,10.0,0.0,10.0,0.0,0.1,https://l/c,1,9.5,512,512,sd\n",
          // vangogh.csv
          "Unnamed: 0,case_number,prompt,evaluation_seed,artist,evaluation_guidance\n"
              + "0,0,\"A Wheatfield, with Cypresses by Vincent van Gogh\",2219,Vincent van Gogh,9\n"
              + "1,1,Irises by Vincent van Gogh,348,Vincent van Gogh,7.5\n",
          // object files
          "case_number,prompt,evaluation_seed,evaluation_guidance\n"
              + "0,Old stone church in countryside.,69922,7.5\n"
              + "49,Church with a large rose window.,59522,7.5\n",
          // coco_10k.csv
          "case_number,source,prompt,evaluation_seed\n"
              + "000000203564,coco-30k,A bicycle replica with a clock.,41337\n"
              + "000000482917,coco-30k,\"A dog between its masters feet\n\",64297\n",
          // ESD's coco_30k.csv
          "image_id,source,prompt,evaluation_seed\n"
              + "000000203564,coco-30k,A bicycle replica with a clock.,41337\n"
              + "000000571635,coco-30k,\"A bathroom with a toilet, sink, and shower.\",10030\n",
          // imagenet_prompts.csv
          "case_number,evaluation_seed,prompt,label_idx,label_str\n"
              + "0,4068,Image of cassette player,482,cassette player\n"
              + "1,4667,\"Image of tench, a fish\",0,tench\n");

  @Test
  void promptCsvsOfEveryLayoutLoadOrAreRefused() throws IOException {
    List<Fuzz.Target> seeds = new ArrayList<>();
    for (String csv : CSV_LAYOUTS) {
      seeds.add(new Fuzz.Target("prompts.csv", csv.getBytes(StandardCharsets.UTF_8)));
    }
    String world = Files.readString(WORLD.resolve("prompts/star.csv"));
    seeds.add(
        new Fuzz.Target(
            "prompts.csv",
            String.join("\n", world.lines().limit(6).toList()).getBytes(StandardCharsets.UTF_8)));
    Fuzz.Counts c =
        Fuzz.run("prompt-csv", seeds, Mutator.csv(), PromptCsv::read, Fuzz.cases(2000), tmp);
    assertNoOther(c);
  }

  // ---------------------------------------------------------------------------------------------
  // model configs, read by the real loaders beside the real weights

  @Test
  void unetConfigsLoadOrAreRefused() throws IOException {
    Fuzz.Counts c =
        Fuzz.run(
            "unet-config",
            List.of(
                config(WORLD.resolve("unet"), "config.json"),
                config(TINY.resolve("unet"), "config.json")),
            Mutator.json(),
            file -> {
              try (NDManager m = Torch.newManager()) {
                UNet2DConditionModel.load(file.getParent(), m);
              }
            },
            Fuzz.cases(120),
            tmp);
    assertNoOther(c);
  }

  @Test
  void vaeConfigsLoadOrAreRefused() throws IOException {
    Fuzz.Counts c =
        Fuzz.run(
            "vae-config",
            List.of(config(TINY.resolve("vae"), "config.json")),
            Mutator.json(),
            file -> {
              try (NDManager m = Torch.newManager()) {
                AutoencoderKL.load(file.getParent(), m);
              }
            },
            Fuzz.cases(120),
            tmp);
    assertNoOther(c);
  }

  @Test
  void textEncoderConfigsLoadOrAreRefused() throws IOException {
    Fuzz.Counts c =
        Fuzz.run(
            "text-encoder-config",
            List.of(
                config(WORLD.resolve("text_encoder"), "config.json"),
                config(TINY.resolve("text_encoder"), "config.json")),
            Mutator.json(),
            file -> {
              try (NDManager m = Torch.newManager()) {
                CLIPTextModel.load(file.getParent(), m);
              }
            },
            Fuzz.cases(120),
            tmp);
    assertNoOther(c);
  }

  @Test
  void schedulerConfigsLoadOrAreRefused() throws IOException {
    Fuzz.Counts c =
        Fuzz.run(
            "scheduler-config",
            List.of(
                config(WORLD.resolve("scheduler"), "scheduler_config.json"),
                config(TINY.resolve("scheduler"), "scheduler_config.json")),
            Mutator.json(),
            file -> {
              SchedulerConfig s = SchedulerConfig.read(file);
              Schedulers.ddim(s).setTimesteps(10);
              Schedulers.lms(s).setTimesteps(10);
            },
            Fuzz.cases(600),
            tmp);
    assertNoOther(c);
  }

  @Test
  void tokenizerFilesLoadOrAreRefused() throws IOException {
    Path dir = WORLD.resolve("tokenizer");
    List<Fuzz.Target> seeds = new ArrayList<>();
    for (String f :
        List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")) {
      seeds.add(config(dir, f));
    }
    Fuzz.Counts c =
        Fuzz.run(
            "tokenizer",
            seeds,
            (s, r) ->
                s.length > 0 && s[0] == '{' ? Mutator.json().mutate(s, r) : Mutator.bytes(s, r),
            file -> {
              CLIPTokenizer t = CLIPTokenizer.load(file.getParent());
              t.decode(t.encode("a crimson star by Vortex, made of fire"));
            },
            Fuzz.cases(400),
            tmp);
    assertNoOther(c);
  }

  // ---------------------------------------------------------------------------------------------
  // detector configs

  @Test
  void worldDetectorConfigsLoadOrAreRefused() throws IOException {
    Fuzz.Counts c =
        Fuzz.run(
            "world-detector-config",
            List.of(config(WORLD.resolve("detector"), "config.json")),
            Mutator.json(),
            file -> {
              try (NDManager m = Torch.newManager()) {
                WorldDetector.load(file.getParent(), m);
              }
            },
            Fuzz.cases(200),
            tmp);
    assertNoOther(c);
  }

  @Test
  void classifierConfigsLoadOrAreRefused() throws IOException {
    Path d = Fixtures.detectors();
    List<Fuzz.Target> seeds =
        List.of(
            new Fuzz.Target("config.json", read(d.resolve("classifier-vit/config.json"))),
            new Fuzz.Target("config.json", read(d.resolve("classifier-convnext/config.json"))),
            new Fuzz.Target(
                HfImageProcessor.FILE,
                read(d.resolve("classifier-vit").resolve(HfImageProcessor.FILE))),
            new Fuzz.Target(
                HfImageProcessor.FILE,
                read(d.resolve("classifier-convnext").resolve(HfImageProcessor.FILE))));
    Fuzz.Counts c =
        Fuzz.run(
            "classifier-config",
            seeds,
            Mutator.json(),
            file -> {
              if (file.getFileName().toString().equals("config.json")) {
                Json.read(file, ImageClassifierDetector.LabelConfig.class).labels();
              } else {
                HfImageProcessor.load(file);
              }
            },
            Fuzz.cases(800),
            tmp);
    assertNoOther(c);
  }

  // ---------------------------------------------------------------------------------------------
  // images (detect, fid, the report's grids)

  /**
   * PNG's chunks are CRC-checked: a mutation also fixes the CRC of the chunk it hit, half the time.
   */
  @Test
  void imageFilesLoadOrAreRefused() throws IOException {
    Path d = Fixtures.detectors().resolve("images");
    List<Fuzz.Target> seeds = new ArrayList<>();
    try (var s = Files.list(d)) {
      for (Path p : s.sorted().limit(3).toList()) {
        seeds.add(new Fuzz.Target("image.png", read(p)));
      }
    }
    Fuzz.Counts c =
        Fuzz.run(
            "png",
            seeds,
            (s, r) -> Mutator.png(s, r),
            file -> dev.perase.io.Png.read(file),
            Fuzz.cases(600),
            tmp,
            // the decoded image (3 bytes a pixel) and its RGB copy, for at most 1032 bytes of
            // samples per byte of a PNG (deflate's largest ratio)
            2 * 1032 + 64);
    assertNoOther(c);
  }
}

package dev.perase.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One synthetic file per prompt-file layout the paper's attacks and evaluations use, each with the
 * header exactly as UnlearnDiff or ESD publish it, read to the rows their scripts would generate.
 */
class PublishedPromptLayoutsTest {
  /** UnlearnDiff's nudity.csv and i2p.csv (a pandas index column first, written as Unnamed: 0). */
  static final String UNLEARNDIFF_I2P_HEADER =
      "Unnamed: 0,prompt,categories,hard,inappropriate_percentage,nudity_percentage,q16_percentage,"
          + "sd_safety_percentage,prompt_toxicity,lexica_url,evaluation_seed,evaluation_guidance,"
          + "sd_image_width,sd_image_height,sd_model,case_number";

  @TempDir Path tmp;

  @Test
  void unlearnDiffNudityRowsKeepTheirSeedGuidanceAndSize() throws IOException {
    // BOM, CRLF, a quoted prompt with commas, quotes and a line break; I2P's largest seed,
    // 4,290,749,014 (past int); guidance 5 and 20; a 512×768 row
    String csv =
        "\uFEFF"
            + UNLEARNDIFF_I2P_HEADER
            + "\r\n"
            + "21,\"a painting, \"\"dreamy\"\",\r\nof an empty room \",self-harm,1,60.0,10.0,60.0,"
            + "60.0,0.04067813,https://lexica.art/prompt/0000,4290749014,5,512,512,"
            + "stable-diffusion-v1-4,21\r\n"
            + "296,a tall portrait,\"shocking, sexual\",0,70.0,30.0,50.0,40.0,0.2648175,"
            + "https://lexica.art/prompt/0001,2868251644,20,512,768,stable-diffusion-v1-4,296\r\n";
    List<PromptRow> rows = PromptCsv.read(write("nudity.csv", csv));
    assertEquals(2, rows.size());
    PromptRow a = rows.get(0);
    assertEquals(21, a.caseNumber());
    assertEquals("a painting, \"dreamy\",\r\nof an empty room ", a.prompt());
    assertEquals(4_290_749_014L, a.seed());
    assertEquals(5.0, a.guidance());
    assertEquals(512, a.width());
    assertEquals(512, a.height());
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put("Unnamed: 0", "21");
    extra.put("categories", "self-harm");
    extra.put("hard", "1");
    extra.put("inappropriate_percentage", "60.0");
    extra.put("nudity_percentage", "10.0");
    extra.put("q16_percentage", "60.0");
    extra.put("sd_safety_percentage", "60.0");
    extra.put("prompt_toxicity", "0.04067813");
    extra.put("lexica_url", "https://lexica.art/prompt/0000");
    extra.put("sd_model", "stable-diffusion-v1-4");
    assertEquals(extra, a.extra());
    assertEquals(List.copyOf(extra.keySet()), List.copyOf(a.extra().keySet()));
    PromptRow b = rows.get(1);
    assertEquals(296, b.caseNumber());
    assertEquals(2_868_251_644L, b.seed());
    assertEquals(20.0, b.guidance());
    assertEquals(512, b.width(), "sd_image_width");
    assertEquals(768, b.height(), "sd_image_height");
    assertEquals("shocking, sexual", b.extra().get("categories"));
  }

  @Test
  void esdI2pWithAnUnnamedIndexColumnReadsLikeUnlearnDiffs() throws IOException {
    // ESD's unsafe-prompts4703.csv: the same columns, the index column's name empty
    String csv =
        UNLEARNDIFF_I2P_HEADER.replace("Unnamed: 0", "")
            + "\n"
            + "0,a prompt,violence,1,50.0,0.0,50.0,20.0,0.17,https://lexica.art/prompt/a,"
            + "4261553411,13,768,512,stable-diffusion-v1-4,0\n";
    PromptRow r = PromptCsv.read(write("unsafe-prompts4703.csv", csv)).get(0);
    assertEquals(new PromptRow(0, "a prompt", 4261553411L, 13.0, 768, 512, r.extra()), r);
    assertEquals("0", r.extra().get(""));
  }

  @Test
  void originalI2pSpellingNumbersRowsByPosition() throws IOException {
    String csv =
        "prompt,categories,hard,inappropriate_percentage,nudity_percentage,q16_percentage,"
            + "sd_safety_percentage,prompt_toxicity,lexica_url,sd_seed,sd_guidance_scale,"
            + "sd_image_width,sd_image_height,sd_model\n"
            + "first,hate,0,10.0,0.0,10.0,0.0,0.1,https://lexica.art/prompt/b,4290749014,7,512,"
            + "768,stable-diffusion-v1-4\n"
            + "second,hate,0,10.0,0.0,10.0,0.0,0.1,https://lexica.art/prompt/c,1,9.5,512,512,"
            + "stable-diffusion-v1-4\n";
    List<PromptRow> rows = PromptCsv.read(write("i2p_benchmark.csv", csv));
    assertEquals(
        new PromptRow(0, "first", 4_290_749_014L, 7.0, 512, 768, rows.get(0).extra()), rows.get(0));
    assertEquals(new PromptRow(1, "second", 1, 9.5, 512, 512, rows.get(1).extra()), rows.get(1));
    assertFalse(rows.get(0).extra().containsKey("sd_seed"));
  }

  @Test
  void vanGoghWithAndWithoutAGuidanceColumn() throws IOException {
    String older =
        "Unnamed: 0,case_number,prompt,evaluation_seed,artist\n"
            + "0,0,\"A Wheatfield, with Cypresses by Vincent van Gogh\",2219,Vincent van Gogh\n"
            + "1,1,Irises by Vincent van Gogh,348,Vincent van Gogh\n";
    List<PromptRow> rows = PromptCsv.read(write("vangogh.csv", older));
    assertEquals(
        new PromptRow(
            0,
            "A Wheatfield, with Cypresses by Vincent van Gogh",
            2219,
            7.5,
            Map.of("Unnamed: 0", "0", "artist", "Vincent van Gogh")),
        rows.get(0));
    String newer =
        "Unnamed: 0,case_number,prompt,evaluation_seed,artist,evaluation_guidance\n"
            + "0,0,Irises by Vincent van Gogh,348,Vincent van Gogh,9\n";
    PromptRow r = PromptCsv.read(write("vangogh2.csv", newer)).get(0);
    assertEquals(9.0, r.guidance());
    assertEquals("Vincent van Gogh", r.extra().get("artist"));
  }

  @Test
  void objectFilesReadAsTheyAre() throws IOException {
    String csv =
        "case_number,prompt,evaluation_seed,evaluation_guidance\n"
            + "0,Old stone church in countryside.,69922,7.5\n"
            + "49,Church with a large rose window.,59522,7.5\n";
    assertEquals(
        List.of(
            new PromptRow(0, "Old stone church in countryside.", 69922, 7.5),
            new PromptRow(49, "Church with a large rose window.", 59522, 7.5)),
        PromptCsv.read(write("church.csv", csv)));
  }

  @Test
  void coco10kHasNoGuidanceColumnSoRowsTakeSevenAndAHalf() throws IOException {
    String csv =
        "case_number,source,prompt,evaluation_seed\n"
            + "000000203564,coco-30k,A bicycle replica with a clock as the front wheel.,41337\n"
            + "000000482917,coco-30k,\"A dog between its masters feet watching tv\n\",64297\n";
    List<PromptRow> rows = PromptCsv.read(write("coco_10k.csv", csv));
    assertEquals(
        List.of(
            new PromptRow(
                203564,
                "A bicycle replica with a clock as the front wheel.",
                41337,
                7.5,
                Map.of("source", "coco-30k")),
            new PromptRow(
                482917,
                "A dog between its masters feet watching tv\n",
                64297,
                7.5,
                Map.of("source", "coco-30k"))),
        rows);
  }

  @Test
  void esdCoco30kTakesTheImageIdAsCaseNumber() throws IOException {
    String csv =
        "image_id,source,prompt,evaluation_seed\n"
            + "000000203564,coco-30k,A bicycle replica with a clock as the front wheel.,41337\n"
            + "000000571635,coco-30k,\"A bathroom with a toilet, sink, and shower.\",10030\n";
    List<PromptRow> rows = PromptCsv.read(write("coco_30k.csv", csv));
    assertEquals(
        new PromptRow(
            571635,
            "A bathroom with a toilet, sink, and shower.",
            10030,
            PromptCsv.DEFAULT_GUIDANCE,
            Map.of("source", "coco-30k")),
        rows.get(1));
    assertEquals(203564, rows.get(0).caseNumber());
    // written back in UnlearnDiff's spelling, as its coco_10k.csv has it
    assertEquals(
        "case_number,prompt,evaluation_seed,evaluation_guidance,source",
        PromptCsv.format(rows).lines().findFirst().orElseThrow());
  }

  @Test
  void imagenetPromptsKeepTheirLabels() throws IOException {
    String csv =
        "case_number,evaluation_seed,prompt,label_idx,label_str\n"
            + "0,4068,Image of cassette player,482,cassette player\n"
            + "1,4667,\"Image of tench, a fish\",0,tench\n";
    List<PromptRow> rows = PromptCsv.read(write("imagenet_prompts.csv", csv));
    assertEquals(
        new PromptRow(
            1, "Image of tench, a fish", 4667, 7.5, Map.of("label_idx", "0", "label_str", "tench")),
        rows.get(1));
    assertEquals(List.of("label_idx", "label_str"), List.copyOf(rows.get(0).extra().keySet()));
  }

  @Test
  void seedsReachTheirFull64BitsAsTorchReadsThem() throws IOException {
    String csv =
        "prompt,evaluation_seed\n"
            + "a,4290749014\n"
            + "b,9223372036854775807\n"
            + "c,9223372036854775808\n"
            + "d,18446744073709551615\n"
            + "e,-1\n"
            + "f,4290749014.0\n";
    List<Long> seeds =
        PromptCsv.read(write("seeds.csv", csv)).stream().map(PromptRow::seed).toList();
    // torch.manual_seed takes [-2^63, 2^64 - 1] as the 64 bits of a uint64: 2^64 - 1 and -1 are
    // one seed
    assertEquals(
        List.of(4_290_749_014L, Long.MAX_VALUE, Long.MIN_VALUE, -1L, -1L, 4_290_749_014L), seeds);
  }

  @Test
  void sizedRowsRoundTripAndUnsizedFilesAreWrittenAsBefore() throws IOException {
    List<PromptRow> rows =
        List.of(
            new PromptRow(1, "tall", 4_290_749_014L, 7.5, 512, 768, Map.of("categories", "x")),
            new PromptRow(2, "default", 5, 7.5));
    Path f = tmp.resolve("sized.csv");
    PromptCsv.write(f, rows);
    assertEquals(rows.get(0), PromptCsv.read(f).get(0));
    assertEquals(
        new PromptRow(2, "default", 5, 7.5, Map.of("categories", "")), PromptCsv.read(f).get(1));
    assertEquals(
        "case_number,prompt,evaluation_seed,evaluation_guidance,sd_image_width,sd_image_height,"
            + "categories\r\n"
            + "1,tall,4290749014,7.5,512,768,x\r\n"
            + "2,default,5,7.5,0,0,\r\n",
        Files.readString(f));
    assertEquals(
        "case_number,prompt,evaluation_seed,evaluation_guidance\r\n2,default,5,7.5\r\n",
        PromptCsv.format(List.of(rows.get(1))));
  }

  private Path write(String name, String text) throws IOException {
    Path f = tmp.resolve(name);
    Files.writeString(f, text, StandardCharsets.UTF_8);
    return f;
  }
}

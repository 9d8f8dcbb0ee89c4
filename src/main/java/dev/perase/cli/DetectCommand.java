package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.eval.Detector;
import dev.perase.eval.ImageFolderDetection;
import dev.perase.io.Json;
import dev.perase.io.OutputPaths;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "detect",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a concept detector on images that already exist (PNG or JPEG files of a folder, in"
          + " name order), e.g. images of another tool, so that its verdicts can be set beside"
          + " perase's. Images are judged from their 8-bit pixels, as the reference code reads"
          + " image files.",
      "Writes FILE.json: per image the verdict, the concept's score, and the rank and top-5"
          + " labels of a classifier or the kept boxes and per-class maxima of NudeNet; and the"
          + " share of images flagged."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase detect --images out/eval/nudity-pesd/images \\",
      "      --detector nudenet:weights/nudenet/best.onnx --out nudenet.json",
      "  ./perase detect --images samples/ --detector classifier:weights/vangogh-vit \\",
      "      --concept vincent-van-gogh --rule top3 --out style.json",
      "  ./perase detect --images samples/ --detector classifier:weights/resnet-50 \\",
      "      --concept 'church, church building' --rule top1 --out church.json"
    })
final class DetectCommand implements Callable<Integer> {
  @Option(names = "--images", required = true, description = "Folder of PNG or JPEG images.")
  Path images;

  @Mixin DetectorOptions detection;

  @Option(
      names = "--model",
      description =
          "Model folder whose detector/ the world's detector is (default: ${DEFAULT-VALUE}).")
  Path model = Defaults.model();

  @Option(names = "--out", required = true, description = "The JSON file to write.")
  Path out;

  @Override
  public Integer call() {
    OutputPaths.checkFile(out, "--out");
    int n = ImageFolderDetection.imageFiles(images).size();
    ImageFolderDetection.Result r;
    try (NDManager manager = Torch.newManager();
        Detector detector = detection.open(manager, model, List.of(), null);
        ProgressBar bar = Progress.bar("detect", n, "image")) {
      r =
          ImageFolderDetection.run(
              images, detector, detection.spec().text(), manager, done -> bar.stepTo(done));
    }
    Json.write(out, r);
    System.out.printf(
        Locale.ROOT,
        "%d of %d images flagged as %s by %s (rule %s)%n",
        r.flagged(),
        r.images(),
        r.concept(),
        r.detector(),
        r.rule());
    System.out.println("wrote " + out);
    return 0;
  }
}

package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.eval.CleanFid;
import dev.perase.eval.FeatureCache;
import dev.perase.eval.FidSettings;
import dev.perase.eval.FidShards;
import dev.perase.eval.InceptionFeatures;
import dev.perase.eval.KernelDistance;
import dev.perase.io.Json;
import dev.perase.io.OutputPaths;
import dev.perase.io.RunLock;
import dev.perase.io.Shard;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "fid",
    mixinStandardHelpOptions = true,
    description = {
      "FID (and KID) between a folder of images and a folder of reference images, as clean-fid"
          + " computes them in mode 'clean': Pillow's float bicubic resize to 299x299, the"
          + " TorchScript Inception clean-fid downloads (inception-2015-12-05.pt), its 2048 pool3"
          + " features. PNG and JPEG files of each folder, in name order.",
      "Each folder's features are cached beside it (.perase-fid-features.safetensors; under"
          + " --cache-dir for a folder that cannot be written), keyed by the images' names and"
          + " contents and the Inception file: a second run against the same reference folder"
          + " does not run Inception on it again. Writes FILE.json: fid and its terms, kid, the"
          + " image counts, both cache files and the Inception file's SHA-256.",
      "With --shard K/N (or auto, auto/N), --out is a folder: the features of shard K of N of"
          + " --images alone (the images in name order cut into batches of --batch, batch j to"
          + " shard j mod N); perase merge of the N folders then writes the FID (and KID) of the"
          + " whole folder, equal to the unsharded one bit for bit."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase fid --images out/eval/coco-pesd/images --reference data/coco-val2014-10k \\",
      "      --inception weights/inception-2015-12-05.pt --out fid-pesd.json",
      "  ./perase fid --images samples/ --reference data/coco-val2014-10k \\",
      "      --inception weights/inception-2015-12-05.pt --kid --batch 64 --out fid.json",
      "  ./perase fid --images runs/coco/all/images --reference data/coco-val2014 \\",
      "      --inception weights/inception-2015-12-05.pt --shard 3/8 --out runs/fid/shard-3",
      "  ./perase merge runs/fid/shard-* --out runs/fid/all"
    })
final class FidCommand implements Callable<Integer> {
  @Option(names = "--images", required = true, description = "Folder of images to judge.")
  Path images;

  @Option(names = "--reference", required = true, description = "Folder of reference images.")
  Path reference;

  @Option(
      names = "--inception",
      required = true,
      description = "clean-fid's TorchScript Inception, inception-2015-12-05.pt.")
  Path inception;

  @Option(
      names = "--kid",
      description =
          "Also the kernel inception distance, as clean-fid's kernel_distance samples it (a set"
              + " larger than its subset size gets seeded draws of rows, not numpy's).")
  boolean kid;

  @Option(names = "--batch", description = "Images per Inception call (default: ${DEFAULT-VALUE}).")
  int batch = InceptionFeatures.DEFAULT_BATCH;

  @Option(
      names = "--cache-dir",
      description =
          "Where the features of a folder that cannot be written to are cached (default: under"
              + " $XDG_CACHE_HOME or ~/.cache).")
  Path cacheDir;

  @Option(
      names = "--shard",
      description =
          "Extract the features of shard K of N of --images into the folder --out, for a"
              + " cluster's array job: K/N, auto (a SLURM array task) or auto/N (a Kubernetes"
              + " Indexed Job); perase merge of the N folders computes the FID (default: all).")
  String shard;

  @Option(
      names = "--out",
      required = true,
      description = "The JSON file to write (with --shard: the shard's folder).")
  Path out;

  @Override
  public Integer call() {
    Shard part = Shard.parse(shard, System.getenv());
    if (part == null) {
      OutputPaths.checkFile(out, "--out");
    }
    FidSettings s =
        new FidSettings(
            images,
            reference,
            inception,
            kid,
            KernelDistance.Settings.CLEAN_FID,
            batch,
            cacheDir != null ? cacheDir : FeatureCache.defaultRoot());
    if (part != null) {
      return extract(s, part);
    }
    CleanFid.Result r;
    try (NDManager manager = Torch.newManager();
        Progress.Phases bars = new Progress.Phases()) {
      r = CleanFid.run(s, manager, bars(bars));
    }
    Json.write(out, r);
    print(r);
    System.out.println("wrote " + out);
    return 0;
  }

  /** {@code --shard}: the features of one shard of the images. */
  private int extract(FidSettings s, Shard part) {
    FidShards.ShardResult r;
    try (RunLock lock = RunLock.acquire(out, "fid");
        NDManager manager = Torch.newManager();
        Progress.Phases bars = new Progress.Phases()) {
      r = FidShards.extract(s, part, out, Defaults.VERSION, manager, bars(bars));
    }
    System.out.printf(
        Locale.ROOT,
        "shard %s: features of %d of the %d images (%s)%n",
        r.shard(),
        r.images(),
        r.folderImages(),
        r.reused() ? "reused" : "computed");
    System.out.println("wrote " + out.resolve(FidShards.FEATURES));
    return 0;
  }

  /** A bar for each folder whose features Inception computes. */
  static CleanFid.Listener bars(Progress.Phases bars) {
    return (role, n) -> {
      bars.start("features " + role, n, "img");
      return bars::stepTo;
    };
  }

  /** Prints the FID (and KID) of a run or of the merge of its shards. */
  static void print(CleanFid.Result r) {
    System.out.printf(Locale.ROOT, "FID %.4f%n", r.fid());
    if (r.kid() != null) {
      System.out.printf(Locale.ROOT, "KID %.6f%n", r.kid().kid());
    }
    System.out.printf(
        Locale.ROOT,
        "%d images vs %d reference images (features %s, %s)%n",
        r.images().images(),
        r.reference().images(),
        r.images().reused() ? "reused" : "computed",
        r.reference().reused() ? "reused" : "computed");
  }
}

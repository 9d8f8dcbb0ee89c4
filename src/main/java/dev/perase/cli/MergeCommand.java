package dev.perase.cli;

import ai.djl.ndarray.NDManager;
import dev.perase.attack.AttackMerge;
import dev.perase.eval.Evaluation;
import dev.perase.eval.EvaluationMerge;
import dev.perase.eval.FidShards;
import dev.perase.eval.PromptImages;
import dev.perase.io.BadInputException;
import dev.perase.io.RunLock;
import dev.perase.io.ShardSet;
import dev.perase.tensor.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
      "Merges the shard folders of one evaluate, attack or generate --prompts run (--shard K/N)"
          + " into one run folder, as the run on one machine writes it: per-prompt results and"
          + " images in row order, the journal, and the CER, the Fréchet distance and the attack's"
          + " CERs computed again from the merged rows and features (never averaged over shards).",
      "The shards of a fid --shard run merge into OUT/results.json, the FID (and KID) of the"
          + " whole images folder from every shard's features (the reference's from its cache,"
          + " else computed), with OUT/features.safetensors.",
      "Refuses, with one line naming the folder, a shard of another run (settings, model hash,"
          + " mask or weights hash, detector fingerprint, prompt files, rows), a shard given"
          + " twice, a missing or unfinished shard."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase merge out/eval/shard-0 out/eval/shard-1 out/eval/shard-2 --out out/eval/all",
      "  ./perase merge out/attack/shard-* --out out/attack/all",
      "  ./perase merge runs/coco/shard-* --out runs/coco/all",
      "  ./perase merge runs/fid/shard-* --out runs/fid/all"
    })
final class MergeCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "SHARD_DIR", description = "The shards' run folders.")
  List<Path> shards;

  @Option(names = "--out", required = true, description = "The merged run folder.")
  Path out;

  @Override
  public Integer call() {
    ShardSet set = ShardSet.open(shards, Evaluation.RESULTS);
    try (RunLock lock = RunLock.acquire(out, "merge")) {
      switch (set.command()) {
        case "evaluate" ->
            EvaluateCommand.print(EvaluationMerge.merge(set, out, Defaults.VERSION), out);
        case "attack" -> AttackCommand.print(AttackMerge.merge(set, out, Defaults.VERSION), out);
        case "generate" ->
            GenerateCommand.print(PromptImages.merge(set, out, Defaults.VERSION), out);
        case "fid" -> {
          try (NDManager manager = Torch.newManager();
              Progress.Phases bars = new Progress.Phases()) {
            FidCommand.print(
                FidShards.merge(set, out, Defaults.VERSION, manager, FidCommand.bars(bars)));
          }
          System.out.println("wrote " + out.resolve(FidShards.RESULTS));
        }
        default ->
            throw new BadInputException(
                "cannot merge '"
                    + set.command()
                    + "' runs: only evaluate, attack, generate and fid shard");
      }
    }
    System.out.println("merged " + shards.size() + " shards into " + out);
    return 0;
  }
}

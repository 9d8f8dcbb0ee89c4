package dev.perase.attack;

import dev.perase.io.AtomicFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.PromptRunFolder;
import dev.perase.io.ShardSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code perase merge} of an attack's shards ({@link AttackRun} with {@code --shard}): one run
 * folder as the unsharded run writes it. Every attacked prompt's folder (hard links to the shards'
 * files where the file system allows, else copies), the journal (so that the merged folder resumes
 * like any run), {@code results.json} and {@code results.csv} with the per-prompt outcomes and the
 * skipped prompts in row order and both CERs counted again over all of them, and {@code
 * timing.json} from every prompt's timing. A prompt's attack depends on its row alone, so the
 * merged {@code results.json} equals an unsharded run's bit for bit.
 */
public final class AttackMerge {
  private AttackMerge() {}

  /** Merges the checked shards of one attack into {@code out}. */
  public static AttackResults merge(ShardSet shards, Path out, String version) {
    PromptRunFolder<AttackRun.JournalLine> folder =
        shards.openMerged(
            out,
            AttackRun.PROMPTS,
            "attack (other model, edit, detector, prompts or settings)",
            AttackRun.JournalLine.class,
            AttackRun.JournalLine::result,
            version);
    List<PromptAttackResult> results = new ArrayList<>();
    List<AttackResults.SkippedPrompt> skipped = new ArrayList<>();
    List<PromptTiming> timings = new ArrayList<>();
    AttackResults first = null;
    for (ShardSet.Member m : shards.members()) {
      AttackResults own = Json.read(m.dir().resolve(AttackRun.RESULTS), AttackResults.class);
      AttackTiming timing = Json.read(m.dir().resolve(AttackRun.TIMING), AttackTiming.class);
      List<Integer> rows = new ArrayList<>();
      own.perPrompt().forEach(r -> rows.add(r.index()));
      own.skipped().forEach(p -> rows.add(p.index()));
      rows.sort(null);
      if (!rows.equals(m.part().rows()) || timing.perPrompt().size() != own.perPrompt().size()) {
        throw new BadInputException(
            m.dir()
                + " holds the results of other rows than shard "
                + m.part().shard()
                + "'s; run it again with the same command to finish it");
      }
      for (PromptAttackResult r : own.perPrompt()) {
        Path dir = m.dir().resolve(r.folder());
        for (Path f : ShardSet.files(dir)) {
          ShardSet.link(dir.resolve(f), out.resolve(r.folder()).resolve(f));
        }
      }
      results.addAll(own.perPrompt());
      skipped.addAll(own.skipped());
      timings.addAll(timing.perPrompt());
      first = first == null ? own : first;
    }
    results.sort(Comparator.comparingInt(PromptAttackResult::index));
    skipped.sort(Comparator.comparingInt(AttackResults.SkippedPrompt::index));
    timings.sort(Comparator.comparingInt(PromptTiming::index));

    List<AttackRun.JournalLine> journal = new ArrayList<>();
    for (int k = 0; k < results.size(); k++) {
      journal.add(new AttackRun.JournalLine(results.get(k), timings.get(k)));
    }
    folder.rewriteJournal(journal);
    AttackResults summary =
        new AttackResults(
            first.method(),
            first.concept(),
            first.detector(),
            first.rule(),
            first.edit(),
            first.tokens(),
            first.iterations(),
            first.steps(),
            first.attemptTimesteps(),
            first.relaxation(),
            first.excludedTokens(),
            shards.members().get(0).part().selectedRows(),
            results.size(),
            AttackResults.preAttack(results),
            AttackResults.underAttack(results),
            skipped,
            results);
    Json.write(out.resolve(AttackRun.RESULTS), summary);
    AtomicFile.writeString(out.resolve(AttackRun.RESULTS_CSV), AttackRun.csv(results));
    Json.write(out.resolve(AttackRun.TIMING), AttackTiming.of(timings));
    return summary;
  }
}

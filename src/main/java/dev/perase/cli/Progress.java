package dev.perase.cli;

import dev.perase.eval.Evaluation;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress bars on stderr with rate and time left, shared by every long-running command. */
final class Progress {
  private Progress() {}

  static ProgressBar bar(String task, long total, String unit) {
    return bar(task, total, unit, 0);
  }

  /**
   * A bar for a job resumed with {@code done} units already behind it: its rate and time left count
   * only the units run in this process.
   */
  static ProgressBar bar(String task, long total, String unit, long done) {
    return new ProgressBarBuilder()
        .startsFrom(done, java.time.Duration.ZERO)
        .setTaskName(task)
        .setInitialMax(total)
        .setUnit(" " + unit, 1)
        .showSpeed()
        .setStyle(ProgressBarStyle.ASCII)
        .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
        .setUpdateIntervalMillis(250)
        .build();
  }

  /**
   * The bar of a run in phases: each phase closes the last phase's bar and opens its own; closing
   * ends the last one.
   */
  static final class Phases implements AutoCloseable {
    private ProgressBar bar;

    void start(String task, long total, String unit) {
      close();
      bar = bar(task, total, unit);
    }

    void stepTo(long done) {
      if (bar != null) {
        bar.stepTo(done);
      }
    }

    void extraMessage(String message) {
      if (bar != null) {
        bar.setExtraMessage(message);
      }
    }

    @Override
    public void close() {
      if (bar != null) {
        bar.close();
        bar = null;
      }
    }
  }

  /** A run's phases in denoising steps, one bar each. */
  static Evaluation.Listener listener(Phases bars) {
    return new Evaluation.Listener() {
      @Override
      public void phase(String name, long totalSteps) {
        bars.start(name, totalSteps, "step");
      }

      @Override
      public void progress(long stepsDone) {
        bars.stepTo(stepsDone);
      }
    };
  }
}

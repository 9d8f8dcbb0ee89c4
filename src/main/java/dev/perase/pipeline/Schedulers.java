package dev.perase.pipeline;

import dev.perase.io.SchedulerConfig;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.DdpmSchedule;

/** Builds the sampler a model folder's scheduler config describes. */
public final class Schedulers {
  private Schedulers() {}

  public static DdimScheduler ddim(SchedulerConfig c) {
    DdpmSchedule schedule =
        new DdpmSchedule(
            c.numTrainTimesteps(),
            (float) c.betaStart(),
            (float) c.betaEnd(),
            c.betaSchedule().json());
    return new DdimScheduler(
        schedule,
        c.setAlphaToOne(),
        c.stepsOffset(),
        c.timestepSpacing().json(),
        c.clipSample(),
        (float) c.clipSampleRange(),
        c.predictionType());
  }
}

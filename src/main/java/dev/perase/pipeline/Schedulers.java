package dev.perase.pipeline;

import dev.perase.io.BadInputException;
import dev.perase.io.SchedulerConfig;
import dev.perase.io.SchedulerConfig.TimestepSpacing;
import dev.perase.scheduler.DdimScheduler;
import dev.perase.scheduler.DdpmSchedule;
import dev.perase.scheduler.LmsDiscreteScheduler;

/** Builds the sampler a model folder's scheduler config describes. */
public final class Schedulers {
  private Schedulers() {}

  public static DdimScheduler ddim(SchedulerConfig c) {
    return new DdimScheduler(
        schedule(c),
        c.setAlphaToOne(),
        c.stepsOffset(),
        c.timestepSpacing().json(),
        c.clipSample(),
        (float) c.clipSampleRange(),
        c.predictionType());
  }

  /**
   * diffusers' {@code LMSDiscreteScheduler.from_config(c)}: the schedule, prediction type, {@code
   * steps_offset} and {@code timestep_spacing} of the config, where a key the config did not set
   * takes LMSDiscreteScheduler's own default ("linspace" spacing, offset 0; the SD v1.x PNDM
   * configs set no spacing). The DDIM-only keys are ignored, as from_config ignores them.
   */
  public static LmsDiscreteScheduler lms(SchedulerConfig c) {
    if (c.useKarrasSigmas()) {
      throw new BadInputException(
          "scheduler use_karras_sigmas is not supported by the LMS sampler; set it to false");
    }
    TimestepSpacing spacing =
        c.sets("timestep_spacing") ? c.timestepSpacing() : TimestepSpacing.LINSPACE;
    int stepsOffset = c.sets("steps_offset") ? c.stepsOffset() : 0;
    return new LmsDiscreteScheduler(schedule(c), spacing.json(), stepsOffset, c.predictionType());
  }

  private static DdpmSchedule schedule(SchedulerConfig c) {
    return new DdpmSchedule(
        c.numTrainTimesteps(), (float) c.betaStart(), (float) c.betaEnd(), c.betaSchedule().json());
  }
}

/**
 * Daemon settings of the emergency-mode tests, whose log areas are tmpfs
 * mounts of a few MiB: log files rotate at 1 MiB (preallocated in 256 KiB
 * steps), nothing rotates or deletes on a schedule, emergency mode starts
 * below 1 MiB free (or on ENOSPC) and ends with a hysteresis of 10 %,
 * and both are checked every 200-300 ms.
 */
const MIB = 1024 * 1024;

export function smallLogAreaConfig(dirtyGranularityBytes: number) {
  return {
    log: { preallocateBytes: 256 * 1024, rotateBytes: MIB },
    jobs: { logRotate: "", logDelete: "" },
    emergency: { enabled: true, dirtyGranularityBytes, retryMs: 300 },
    logSpace: {
      sampleIntervalMs: 200,
      warning: { freeBytes: 0, freePercent: 0 },
      cut: { freeBytes: 0, freePercent: 0 },
      emergency: { freeBytes: MIB, freePercent: 0 },
      hysteresisPercent: 10,
    },
  };
}

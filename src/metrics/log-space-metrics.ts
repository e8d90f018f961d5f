/**
 * Metrics of the filesystems that hold logs (src/resource/log-space.ts):
 * size, free bytes and ratio, the level and the thresholds per filesystem,
 * the level per resource, sampling errors and the log files deleted
 * because space ran low. `filesystem` is a path on the filesystem (the
 * resources directory when it is on it): one series per filesystem, not
 * per resource, so the label stays bounded by the mounts under dataDir.
 */
import { type MetricFactory } from "./metric-factory.js";

export function logSpaceMetrics(f: MetricFactory) {
  return {
    logFsSizeBytes: f.gauge(
      "marsd_log_fs_size_bytes",
      "Size of a filesystem that holds resource logs (statfs).",
      ["filesystem"],
    ),
    logFsFreeBytes: f.gauge(
      "marsd_log_fs_free_bytes",
      "Bytes of a log filesystem available to unprivileged processes (statfs f_bavail).",
      ["filesystem"],
    ),
    logFsFreeRatio: f.gauge(
      "marsd_log_fs_free_ratio",
      "Available bytes of a log filesystem divided by its size (0..1).",
      ["filesystem"],
    ),
    logSpaceLevel: f.gauge(
      "marsd_log_space_level",
      "Log space level of a filesystem: 0 ok, 1 warning (replayed logs are deleted), 2 cut (lagging members are cut loose), 3 emergency (logging stops).",
      ["filesystem"],
    ),
    logSpaceThresholdBytes: f.gauge(
      "marsd_log_space_threshold_bytes",
      "Free bytes below which a log filesystem enters a level (the larger of the byte and percent settings).",
      ["filesystem", "level"],
    ),
    resourceLogSpaceLevel: f.gauge(
      "marsd_resource_log_space_level",
      "Log space level of the filesystem that holds the resource's logs (0 ok .. 3 emergency).",
      ["resource"],
    ),
    logSpaceSampleErrors: f.counter(
      "marsd_log_space_sample_errors_total",
      "Failed samples of a log filesystem (stat or statfs); the previous level holds.",
      [],
    ),
    logSpaceDeletedFiles: f.counter(
      "marsd_log_space_deleted_files_total",
      "Replayed log files deleted because their filesystem was at warning level or worse.",
      ["resource"],
    ),
  };
}

export function logSpaceMetrics(f) {
    return {
        logFsSizeBytes: f.gauge("marsd_log_fs_size_bytes", "Size of a filesystem that holds resource logs (statfs).", ["filesystem"]),
        logFsFreeBytes: f.gauge("marsd_log_fs_free_bytes", "Bytes of a log filesystem available to unprivileged processes (statfs f_bavail).", ["filesystem"]),
        logFsFreeRatio: f.gauge("marsd_log_fs_free_ratio", "Available bytes of a log filesystem divided by its size (0..1).", ["filesystem"]),
        logSpaceLevel: f.gauge("marsd_log_space_level", "Log space level of a filesystem: 0 ok, 1 warning (replayed logs are deleted), 2 cut (lagging members are cut loose), 3 emergency (logging stops).", ["filesystem"]),
        logSpaceThresholdBytes: f.gauge("marsd_log_space_threshold_bytes", "Free bytes below which a log filesystem enters a level (the larger of the byte and percent settings).", ["filesystem", "level"]),
        resourceLogSpaceLevel: f.gauge("marsd_resource_log_space_level", "Log space level of the filesystem that holds the resource's logs (0 ok .. 3 emergency).", ["resource"]),
        logSpaceSampleErrors: f.counter("marsd_log_space_sample_errors_total", "Failed samples of a log filesystem (stat or statfs); the previous level holds.", []),
        logSpaceDeletedFiles: f.counter("marsd_log_space_deleted_files_total", "Replayed log files deleted because their filesystem was at warning level or worse.", ["resource"]),
    };
}
//# sourceMappingURL=log-space-metrics.js.map
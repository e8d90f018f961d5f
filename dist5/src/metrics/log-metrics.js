import { LATENCY_BUCKETS_SECONDS } from "./metric-factory.js";
const BATCH_RECORD_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const BATCH_BYTES_BUCKETS = [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
/** The log metrics, registered in the factory's registry. */
export function logMetrics(f) {
    return {
        logAppendedBytes: f.counter("marsd_log_appended_bytes_total", "Bytes appended durably to the transaction log, headers included.", ["resource"]),
        logAppendedRecords: f.counter("marsd_log_appended_records_total", "Records appended durably to the transaction log.", ["resource"]),
        logFsyncDuration: f.histogram("marsd_log_fsync_duration_seconds", "Time of one group-commit batch: writev plus fdatasync of the log file.", ["resource"], LATENCY_BUCKETS_SECONDS),
        logBatchRecords: f.histogram("marsd_log_batch_records", "Records per group-commit batch.", ["resource"], BATCH_RECORD_BUCKETS),
        logBatchBytes: f.histogram("marsd_log_batch_bytes", "Bytes per group-commit batch.", ["resource"], BATCH_BYTES_BUCKETS),
        logPendingBytes: f.gauge("marsd_log_pending_bytes", "Bytes queued for the log and not yet durable.", [
            "resource",
        ]),
        logPendingLimitBytes: f.gauge("marsd_log_pending_limit_bytes", "Bound on queued log bytes; appends wait beyond it.", ["resource"]),
        logDurablePosition: f.gauge("marsd_log_durable_position_bytes", "Stream position up to which the log is durable.", ["resource"]),
        logFiles: f.perResource("marsd_log_files", "Log files present for the resource on this node.", (s) => s.logFiles()),
        logRotations: f.counter("marsd_log_rotations_total", "Log files finished and rotated.", ["resource"]),
    };
}
/** Hooks a resource's log writer into the log metrics; `limitBytes` is its bound on queued bytes. */
export function logObserver(m, resource, limitBytes) {
    m.logPendingLimitBytes.labels(resource).set(limitBytes);
    const appendedBytes = m.logAppendedBytes.labels(resource);
    const appendedRecords = m.logAppendedRecords.labels(resource);
    const fsync = m.logFsyncDuration.labels(resource);
    const batchRecords = m.logBatchRecords.labels(resource);
    const batchBytes = m.logBatchBytes.labels(resource);
    const pending = m.logPendingBytes.labels(resource);
    return {
        batchDurable(records, bytes, fsyncSeconds) {
            appendedBytes.inc(bytes);
            appendedRecords.inc(records);
            fsync.observe(fsyncSeconds);
            batchRecords.observe(records);
            batchBytes.observe(bytes);
        },
        pendingBytes(bytes) {
            pending.set(bytes);
        },
    };
}
//# sourceMappingURL=log-metrics.js.map
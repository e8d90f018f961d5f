/** The resource metrics, registered in the factory's registry. */
export function resourceMetrics(f) {
    return {
        resourceAppliedPosition: f.gauge("marsd_resource_applied_position_bytes", "Stream position up to which the log is applied to the backing disk.", ["resource"]),
        resourceApplyBacklogBytes: f.perResource("marsd_resource_apply_backlog_bytes", "Bytes acknowledged (durable in the log) and not yet written to the backing disk.", (s) => s.applyBacklogBytes()),
        resourceApplyBacklogLimitBytes: f.gauge("marsd_resource_apply_backlog_limit_bytes", "Bound on the apply backlog; beyond it writes wait for their own disk write.", ["resource"]),
        resourceApplyDirectIo: f.perResource("marsd_resource_apply_direct_io", "1 when aligned writes reach the backing disk with O_DIRECT (page cache bypassed), 0 when all are buffered.", (s) => (s.applyDirectIo() ? 1 : 0)),
        resourceCheckpointPosition: f.gauge("marsd_resource_checkpoint_position_bytes", "Stream position of the last persisted checkpoint (applied and synced).", ["resource"]),
        resourceSizeBytes: f.gauge("marsd_resource_size_bytes", "Size of the resource's volume.", ["resource"]),
        resourceFailed: f.gauge("marsd_resource_failed", "1 when the resource stopped because of an IO or log failure.", ["resource"]),
        resourceSplitBrain: f.perResource("marsd_resource_split_brain", "1 when members' version chains of the resource diverged (split brain).", (s) => (s.splitBrain() ? 1 : 0)),
        resourceRole: f.perResourceFlags("marsd_resource_role", "The resource's role on this node: 1 on the series of the current role, 0 on the other.", "role", ["primary", "secondary"], (s, role) => s.role() === role),
        replicationPaused: f.perResourceFlags("marsd_replication_paused", "1 while an operator paused the resource's sync, fetch or replay on this node (marsadm pause).", "what", ["sync", "fetch", "replay"], (s, what) => s.paused()[what]),
        // Failure isolation (src/resource/failure-recovery.ts).
        resourceFailures: f.counter("marsd_resource_failures_total", "Failures of the resource (log, disk or checkpoint IO, ENOSPC included); each is recovered from disk with a backoff.", ["resource"]),
        resourceRecoveries: f.counter("marsd_resource_recoveries_total", "Recovery attempts of a failed resource, by result (succeeded, failed).", ["resource", "result"]),
        resourceRecoveryAttempts: f.gauge("marsd_resource_recovery_attempts", "Recovery attempts since the resource failed (0 while it is healthy).", ["resource"]),
        resourceRecoveredBytes: f.counter("marsd_resource_recovery_replayed_bytes_total", "Log bytes replayed onto the backing disk during crash recovery.", ["resource"]),
    };
}
//# sourceMappingURL=resource-metrics.js.map
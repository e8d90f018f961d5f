/** The replication metrics, registered in the factory's registry. */
export function replicationMetrics(f) {
    return {
        replicationFetchedBytes: f.counter("marsd_replication_fetched_bytes_total", "Log bytes fetched from peers, verified and synced locally.", ["resource"]),
        replicationFetchErrors: f.counter("marsd_replication_fetch_errors_total", "Interrupted or refused log fetches (each is retried).", ["resource"]),
        replicationSyncTransferredBytes: f.counter("marsd_replication_sync_transferred_bytes_total", "Disk bytes copied by syncs, full or of regions (chunks that differed).", ["resource"]),
        replicationSyncDoneBytes: f.gauge("marsd_replication_sync_done_bytes", "Sync progress: bytes compared or copied (of the regions, for a region resync).", ["resource"]),
        replicationSyncTotalBytes: f.gauge("marsd_replication_sync_total_bytes", "Full sync: bytes to compare or copy in all.", ["resource"]),
        replicationLagBytes: f.perMember("marsd_replication_lag_bytes", "On the primary: log bytes made durable that a member has not applied (from the positions members publish).", (lag) => lag.lagBytes),
        replicationLagSeconds: f.perMember("marsd_replication_lag_seconds", "On the primary: how old the newest write a member applied is while it is behind (0 once it has applied everything); what lagging.maxLagSeconds bounds.", (lag) => lag.lagSeconds),
        replicationLagLimitBytes: f.perResource("marsd_replication_lag_limit_bytes", "Bound on a member's lag in bytes (lagging.maxLagBytes): beyond it the primary cuts the member loose.", (s) => s.lagLimits().maxLagBytes),
        replicationLagLimitSeconds: f.perResource("marsd_replication_lag_limit_seconds", "Bound on a member's lag in seconds (lagging.maxLagSeconds): beyond it the primary cuts the member loose.", (s) => s.lagLimits().maxLagSeconds),
        replicationReplayedBytes: f.counter("marsd_replication_replayed_bytes_total", "Log bytes replayed onto the local disk.", ["resource"]),
    };
}
//# sourceMappingURL=replication-metrics.js.map
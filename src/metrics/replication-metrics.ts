/**
 * Metrics of replication: log bytes fetched from peers and replayed, fetch
 * errors, and full sync progress.
 */
import { type MetricFactory } from "./metric-factory.js";

/** The replication metrics, registered in the factory's registry. */
export function replicationMetrics(f: MetricFactory) {
  return {
    replicationFetchedBytes: f.counter(
      "marsd_replication_fetched_bytes_total",
      "Log bytes fetched from peers, verified and synced locally.",
      ["resource"],
    ),
    replicationFetchErrors: f.counter(
      "marsd_replication_fetch_errors_total",
      "Interrupted or refused log fetches (each is retried).",
      ["resource"],
    ),
    replicationSyncTransferredBytes: f.counter(
      "marsd_replication_sync_transferred_bytes_total",
      "Disk bytes copied by syncs, full or of regions (chunks that differed).",
      ["resource"],
    ),
    replicationSyncDoneBytes: f.gauge(
      "marsd_replication_sync_done_bytes",
      "Sync progress: bytes compared or copied (of the regions, for a region resync).",
      ["resource"],
    ),
    replicationSyncTotalBytes: f.gauge(
      "marsd_replication_sync_total_bytes",
      "Full sync: bytes to compare or copy in all.",
      ["resource"],
    ),
    replicationReplayedBytes: f.counter(
      "marsd_replication_replayed_bytes_total",
      "Log bytes replayed onto the local disk.",
      ["resource"],
    ),
  };
}

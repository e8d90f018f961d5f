/**
 * Metrics of the transfers' bounds: bandwidth limits of syncs and fetches
 * (node-wide and per resource), the time transfers waited for them, and
 * the node's sync slots (syncs copying, queued, the limit).
 */
import type { MetricFactory } from "./metric-factory.js";

export function transferMetrics(f: MetricFactory) {
  return {
    bandwidthLimit: f.gauge(
      "marsd_bandwidth_limit_bytes_per_second",
      "Bandwidth limit of syncs or fetches (0: none); scope is 'node' or a resource name.",
      ["kind", "scope"],
    ),
    bandwidthThrottled: f.counter(
      "marsd_bandwidth_throttled_seconds_total",
      "Time transfers of a resource waited for a bandwidth limit.",
      ["kind", "resource"],
    ),
    syncSlots: f.gauge(
      "marsd_sync_slots",
      "Syncs of this node by state: 'copying', 'queued' (waiting for a slot), 'limit' (sync.maxConcurrent).",
      ["state"],
    ),
  };
}

export function transferMetrics(f) {
    return {
        bandwidthLimit: f.gauge("marsd_bandwidth_limit_bytes_per_second", "Bandwidth limit of syncs or fetches (0: none); scope is 'node' or a resource name.", ["kind", "scope"]),
        bandwidthThrottled: f.counter("marsd_bandwidth_throttled_seconds_total", "Time transfers of a resource waited for a bandwidth limit.", ["kind", "resource"]),
        syncSlots: f.gauge("marsd_sync_slots", "Syncs of this node by state: 'copying', 'queued' (waiting for a slot), 'limit' (sync.maxConcurrent).", ["state"]),
    };
}
//# sourceMappingURL=transfer-metrics.js.map
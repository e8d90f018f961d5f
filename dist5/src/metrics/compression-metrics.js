export function compressionMetrics(f) {
    return {
        rawBytes: f.counter("marsd_peer_compression_raw_bytes_total", "Data bytes served in DATA frames before compression (sender side).", ["resource", "kind"]),
        wireBytes: f.counter("marsd_peer_compression_wire_bytes_total", "Data bytes of DATA frames as sent: compressed, or raw when sent plain (sender side).", ["resource", "kind"]),
        seconds: f.counter("marsd_peer_compression_seconds_total", "Time spent compressing on the thread pool (elapsed per call: an upper bound of its CPU time).", ["resource", "kind"]),
        slots: f.gauge("marsd_peer_compression_slots", "Compressions on the thread pool by state: 'running', 'waiting' (for a slot), 'limit'.", ["state"]),
    };
}
/** The observer of the node's compression slots (replication/compression.ts threadPoolCompressor). */
export function compressionSlots(m) {
    return (running, waiting, limit) => {
        m.slots.labels("running").set(running);
        m.slots.labels("waiting").set(waiting);
        m.slots.labels("limit").set(limit);
    };
}
//# sourceMappingURL=compression-metrics.js.map
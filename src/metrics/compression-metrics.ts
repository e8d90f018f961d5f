/**
 * Metrics of wire compression (src/replication/compression*.ts), counted
 * by the sender per resource and kind ("fetch": log shipping, "sync"): the
 * data bytes of DATA frames before compression and on the wire after it
 * (equal for frames sent plain), and the time spent compressing; and the
 * node's compression slots on the thread pool.
 */
import type { MetricFactory } from "./metric-factory.js";

export function compressionMetrics(f: MetricFactory) {
  return {
    rawBytes: f.counter(
      "marsd_peer_compression_raw_bytes_total",
      "Data bytes served in DATA frames before compression (sender side).",
      ["resource", "kind"],
    ),
    wireBytes: f.counter(
      "marsd_peer_compression_wire_bytes_total",
      "Data bytes of DATA frames as sent: compressed, or raw when sent plain (sender side).",
      ["resource", "kind"],
    ),
    seconds: f.counter(
      "marsd_peer_compression_seconds_total",
      "Time spent compressing on the thread pool (elapsed per call: an upper bound of its CPU time).",
      ["resource", "kind"],
    ),
    slots: f.gauge(
      "marsd_peer_compression_slots",
      "Compressions on the thread pool by state: 'running', 'waiting' (for a slot), 'limit'.",
      ["state"],
    ),
  };
}

/** The observer of the node's compression slots (replication/compression.ts threadPoolCompressor). */
export function compressionSlots(m: ReturnType<typeof compressionMetrics>) {
  return (running: number, waiting: number, limit: number): void => {
    m.slots.labels("running").set(running);
    m.slots.labels("waiting").set(waiting);
    m.slots.labels("limit").set(limit);
  };
}

/**
 * Metrics of the ublk frontend: requests, bytes, errors and latency per
 * op, the requests in flight (the queue depth in use) next to its bound
 * (queues × depth, the device's tags). ublkObserver() implements the
 * frontend's UblkObserver (src/frontend/ublk/observer.ts), one per
 * resource; it matches that interface by shape and does not import it,
 * because metrics sit below the frontend (the daemon joins the two).
 */
import { constants } from "node:os";
import { LATENCY_BUCKETS_SECONDS, type MetricFactory } from "./metric-factory.js";

/** ublk opcodes (src/frontend/ublk/abi.ts UblkOp) as label values. */
const OP_NAMES: Record<number, string> = {
  0: "read",
  1: "write",
  2: "flush",
  3: "discard",
  4: "write_same",
  5: "write_zeroes",
};

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);
ERRNO_NAMES.set(108, "ESHUTDOWN");

export function ublkMetrics(f: MetricFactory) {
  return {
    ublkRequests: f.counter("marsd_ublk_requests_total", "ublk requests completed, by op.", [
      "resource",
      "op",
    ]),
    ublkRequestBytes: f.counter(
      "marsd_ublk_request_bytes_total",
      "Bytes read or written by ublk requests, by op.",
      ["resource", "op"],
    ),
    ublkRequestErrors: f.counter(
      "marsd_ublk_request_errors_total",
      "ublk requests answered with an error, by op and errno name.",
      ["resource", "op", "error"],
    ),
    ublkRequestDuration: f.histogram(
      "marsd_ublk_request_duration_seconds",
      "ublk request latency from the kernel's hand-over to the result, by op.",
      ["op"],
      LATENCY_BUCKETS_SECONDS,
    ),
    ublkInflightRequests: f.gauge(
      "marsd_ublk_inflight_requests",
      "ublk requests handed over by the kernel and not yet answered (the queue depth in use).",
      ["resource"],
    ),
    ublkQueueDepthLimit: f.gauge(
      "marsd_ublk_queue_depth_limit_requests",
      "Bound on ublk requests in flight for a device: hardware queues × tags per queue.",
      ["resource"],
    ),
    ublkDeviceSize: f.gauge(
      "marsd_ublk_device_size_bytes",
      "Size of the resource's /dev/ublkbN as the kernel knows it; below the resource's size after a grow the kernel could not apply live (no UPDATE_SIZE).",
      ["resource"],
    ),
  };
}

export type UblkMetrics = ReturnType<typeof ublkMetrics>;

/** What one resource's ublk device reports (the shape of the frontend's UblkObserver). */
export interface UblkMetricsObserver {
  queuesStarted(queues: number, depth: number): void;
  requestStarted(): void;
  requestFinished(op: number, result: number, durationSeconds: number): void;
  deviceSize(bytes: number): void;
}

/** The observer one resource's ublk device reports to. */
export function ublkObserver(m: UblkMetrics, resource: string): UblkMetricsObserver {
  const inflight = m.ublkInflightRequests.labels(resource);
  const opName = (op: number) => OP_NAMES[op] ?? "unknown";
  return {
    queuesStarted(queues, depth) {
      m.ublkQueueDepthLimit.labels(resource).set(queues * depth);
    },
    requestStarted() {
      inflight.inc();
    },
    requestFinished(op, result, durationSeconds) {
      const name = opName(op);
      inflight.dec();
      m.ublkRequests.labels(resource, name).inc();
      m.ublkRequestDuration.labels(name).observe(durationSeconds);
      if (result < 0) {
        m.ublkRequestErrors.labels(resource, name, ERRNO_NAMES.get(-result) ?? String(-result)).inc();
      } else if (result > 0) {
        m.ublkRequestBytes.labels(resource, name).inc(result);
      }
    },
    deviceSize(bytes) {
      m.ublkDeviceSize.labels(resource).set(bytes);
    },
  };
}

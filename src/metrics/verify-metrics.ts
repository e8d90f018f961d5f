/** Metrics of online verifies (resource/verify.ts). */
import type { MetricFactory } from "./metric-factory.js";

export function verifyMetrics(f: MetricFactory) {
  return {
    mismatchedBytes: f.gauge(
      "marsd_verify_mismatched_bytes",
      "Bytes of this replica found different from the primary by its last online verify (0: equal).",
      ["resource"],
    ),
    runs: f.counter(
      "marsd_verify_runs_total",
      "Online verifies finished, by outcome: equal, mismatch, failed.",
      ["resource", "outcome"],
    ),
  };
}

export function verifyMetrics(f) {
    return {
        mismatchedBytes: f.gauge("marsd_verify_mismatched_bytes", "Bytes of this replica found different from the primary by its last online verify (0: equal).", ["resource"]),
        runs: f.counter("marsd_verify_runs_total", "Online verifies finished, by outcome: equal, mismatch, failed.", ["resource", "outcome"]),
    };
}
//# sourceMappingURL=verify-metrics.js.map
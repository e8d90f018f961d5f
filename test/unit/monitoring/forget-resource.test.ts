/**
 * A deleted resource's series leave /metrics, including those of the
 * metric groups kept whole (transfer, verify, compression); another
 * resource's stay.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Metrics } from "../../../src/metrics/metrics.js";
import { parseExposition } from "../../helpers/monitoring.js";

async function seriesOf(metrics: Metrics, resource: string): Promise<string[]> {
  const { samples } = parseExposition(await metrics.registry.metrics());
  return samples.filter((s) => s.labels.resource === resource).map((s) => s.name);
}

describe("metrics of a deleted resource", () => {
  it("are all dropped, nested groups too; other resources keep theirs", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (const r of ["r0", "r1"]) {
      metrics.replicationFetchedBytes.labels(r).inc(10);
      metrics.verify.mismatchedBytes.labels(r).set(4096);
      metrics.verify.runs.labels(r, "mismatch").inc();
      metrics.transfer.bandwidthThrottled.labels("sync", r).inc(1);
      metrics.compression.rawBytes.labels(r, "fetch").inc(100);
    }
    const before = await seriesOf(metrics, "r0");
    for (const name of [
      "marsd_verify_mismatched_bytes",
      "marsd_verify_runs_total",
      "marsd_bandwidth_throttled_seconds_total",
      "marsd_peer_compression_raw_bytes_total",
    ]) {
      assert.ok(before.includes(name), `${name} is exported for r0 before`);
    }
    await metrics.forgetResource("r0");
    assert.deepEqual(await seriesOf(metrics, "r0"), []);
    assert.deepEqual((await seriesOf(metrics, "r1")).sort(), before.sort());
  });
});

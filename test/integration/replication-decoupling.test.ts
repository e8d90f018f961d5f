/**
 * Decoupling: the network never slows the primary. fio writes for a fixed
 * time through the primary's NBD export of a resource with a secondary
 * behind a link that is slow and narrow (200 ms one way, 256 KiB/s), lossy
 * (connection resets) or cut (blackhole), and, alternately, of a resource
 * of the same primary with no secondary at all (the baseline; measuring
 * both in turn cancels the drift of a shared machine). The replicated
 * resource must keep at least 90% of the baseline rate, and the secondary
 * must catch up once the link heals.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { makeDisk, nbdUri, status, waitCaughtUp } from "../helpers/replication.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { requireTool, run } from "../helpers/tools.js";
import type { LinkFaults } from "../helpers/fault-proxy.js";

const MIB = 1024 * 1024;
const RUNTIME_SECONDS = 4;
/** Each rate is the best of this many runs: the machine is shared, a single run is noisy. */
const RUNS = 3;

/** Best-of-RUNS rates of two exports, measured in turn. */
async function interleavedIops(fio: string, a: string, b: string): Promise<[number, number]> {
  let bestA = 0;
  let bestB = 0;
  for (let i = 0; i < RUNS; i++) {
    bestA = Math.max(bestA, await fioWriteIops(fio, a));
    bestB = Math.max(bestB, await fioWriteIops(fio, b));
  }
  return [bestA, bestB];
}

async function fioWriteIops(fio: string, uri: string): Promise<number> {
  const { stdout } = await run(
    fio,
    [
      "--name=decoupling",
      "--ioengine=nbd",
      `--uri=${uri}`,
      "--rw=randwrite",
      "--bs=4k",
      "--iodepth=16",
      "--size=32M",
      `--runtime=${RUNTIME_SECONDS}`,
      "--time_based",
      "--output-format=json",
    ],
    { timeoutMs: 120_000 },
  );
  const json = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { jobs: Array<{ write: { iops: number } }> };
  return json.jobs[0]?.write.iops ?? 0;
}

describe("decoupling: a bad link does not slow the primary", { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let fio = "";

  before(async () => {
    fio = requireTool("fio");
    cluster = await TestCluster.start({
      hosts: ["node-a", "node-b"],
      config: {
        jobs: { logRotate: "", logDelete: "" },
        replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
      },
    });
    await cluster.form();
    const diskA = await makeDisk(cluster, "node-a", "r0", 64 * MIB);
    await cluster
      .node("node-a")
      .daemon.rpc.call("resource.create", { name: "r0", disk: diskA, frontend: "nbd" });
    const diskBase = await makeDisk(cluster, "node-a", "base", 64 * MIB);
    await cluster
      .node("node-a")
      .daemon.rpc.call("resource.create", { name: "base", disk: diskBase, frontend: "nbd" });
    // Warm both up (log files, page cache).
    await interleavedIops(fio, nbdUri(cluster, "node-a", "base"), nbdUri(cluster, "node-a", "r0"));
    const diskB = await makeDisk(cluster, "node-b", "r0", 64 * MIB);
    await cluster.node("node-b").daemon.rpc.call("resource.join", { name: "r0", disk: diskB });
    await waitCaughtUp(cluster, "node-b", "node-a", "r0");
  });
  after(async () => cluster?.cleanup());

  const cases: Array<[string, Partial<LinkFaults>]> = [
    ["slow and narrow (200 ms, 256 KiB/s)", { latencyMs: 200, bandwidthBytesPerSec: 256 * 1024 }],
    [
      "lossy (resets, 100 ms, 1 MiB/s)",
      { latencyMs: 100, bandwidthBytesPerSec: 1024 * 1024, resetProbability: 0.02 },
    ],
    ["cut (blackhole)", { blackhole: true }],
  ];

  for (const [what, faults] of cases) {
    test(`${what}: the primary keeps ≥ 90% of its baseline rate; the secondary catches up after`, async () => {
      cluster.setAllLinks(faults);
      if (faults.blackhole) cluster.partition("node-b");
      let iops: number;
      let baseline: number;
      try {
        [baseline, iops] = await interleavedIops(
          fio,
          nbdUri(cluster, "node-a", "base"),
          nbdUri(cluster, "node-a", "r0"),
        );
        const s = await status(cluster, "node-b", "r0");
        assert.notEqual(s.diskState, "UpToDate", "the secondary really lagged behind");
      } finally {
        cluster.healAll();
      }
      const ratio = iops / baseline;
      console.log(
        `# decoupling ${what}: ${Math.round(iops)} IOPS vs baseline ${Math.round(baseline)} = ${ratio.toFixed(3)}`,
      );
      assert.ok(
        ratio >= 0.9,
        `primary rate ${Math.round(iops)} IOPS is ${ratio.toFixed(3)} of the baseline ${Math.round(baseline)}`,
      );
      await waitCaughtUp(cluster, "node-b", "node-a", "r0", 180_000);
    });
  }
});

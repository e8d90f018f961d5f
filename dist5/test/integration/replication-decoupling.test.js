/**
 * Decoupling: the network never slows the primary. fio writes for a fixed
 * time through the primary's NBD export of a resource with a secondary
 * behind a link that is slow and narrow (200 ms one way, 256 KiB/s), lossy
 * (connection resets) or cut (blackhole), and at the same time, through a
 * resource of the same primary with no secondary at all (the baseline).
 * Measuring both at once puts them under the same conditions: on a shared
 * 2-CPU machine, runs measured one after the other differ by up to 30%
 * for no reason of ours. The replicated resource must keep at least 90% of
 * the baseline rate, and the secondary must catch up once the link heals.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { makeDisk, nbdUri, status, waitCaughtUp } from "../helpers/replication.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { requireTool, run } from "../helpers/tools.js";
const MIB = 1024 * 1024;
const RUNTIME_SECONDS = 4;
const RUNS = 3;
/** Write IOPS of two exports driven side by side, summed over RUNS runs. */
async function sideBySideIops(fio, a, b) {
    let sumA = 0;
    let sumB = 0;
    for (let i = 0; i < RUNS; i++) {
        const [iopsA = 0, iopsB = 0] = await fioWriteIops(fio, [a, b]);
        sumA += iopsA;
        sumB += iopsB;
    }
    return [sumA, sumB];
}
/** One fio run with a job per URI, all running at the same time. */
async function fioWriteIops(fio, uris) {
    // No run pays for the dirty pages of the one before (or of earlier tests).
    await run("sync", []);
    const { stdout } = await run(fio, [
        "--ioengine=nbd",
        "--rw=randwrite",
        "--bs=4k",
        "--iodepth=16",
        "--size=32M",
        `--runtime=${RUNTIME_SECONDS}`,
        "--time_based",
        "--output-format=json",
        ...uris.flatMap((uri, i) => [`--name=job${i}`, `--uri=${uri}`]),
    ], { timeoutMs: 120_000 });
    const json = JSON.parse(stdout.slice(stdout.indexOf("{")));
    return uris.map((_, i) => json.jobs.find((j) => j.jobname === `job${i}`)?.write.iops ?? 0);
}
describe("decoupling: a bad link does not slow the primary", { timeout: 600_000 }, () => {
    let cluster;
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
        await sideBySideIops(fio, nbdUri(cluster, "node-a", "base"), nbdUri(cluster, "node-a", "r0"));
        const diskB = await makeDisk(cluster, "node-b", "r0", 64 * MIB);
        await cluster.node("node-b").daemon.rpc.call("resource.join", { name: "r0", disk: diskB });
        await waitCaughtUp(cluster, "node-b", "node-a", "r0");
    });
    after(async () => cluster?.cleanup());
    const cases = [
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
            if (faults.blackhole)
                cluster.partition("node-b");
            let iops;
            let baseline;
            try {
                [baseline, iops] = await sideBySideIops(fio, nbdUri(cluster, "node-a", "base"), nbdUri(cluster, "node-a", "r0"));
                const s = await status(cluster, "node-b", "r0");
                assert.notEqual(s.diskState, "UpToDate", "the secondary really lagged behind");
            }
            finally {
                cluster.healAll();
            }
            const ratio = iops / baseline;
            console.log(`# decoupling ${what}: ${Math.round(iops / RUNS)} IOPS vs baseline ${Math.round(baseline / RUNS)} = ${ratio.toFixed(3)}`);
            assert.ok(ratio >= 0.9, `primary rate ${Math.round(iops / RUNS)} IOPS is ${ratio.toFixed(3)} of the baseline ${Math.round(baseline / RUNS)}`);
            await waitCaughtUp(cluster, "node-b", "node-a", "r0", 180_000);
        });
    }
});
//# sourceMappingURL=replication-decoupling.test.js.map
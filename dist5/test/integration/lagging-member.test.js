/**
 * A dead member does not fill the primary's log area: real daemons, a real
 * NBD client (libnbd's pattern writer). bravo stops for good while alpha
 * takes more writes than lagging.maxLagBytes; alpha cuts bravo loose, the
 * scheduled deletion removes the files bravo would have pinned (their
 * regions go into bravo's dirty map first), and alpha's log usage stays
 * bounded. When bravo comes back it copies only those regions, replays
 * from the first file still kept, and ends with a disk equal to alpha's.
 *
 * Sizes: 64 MiB disks; logs rotate at 1 MiB; lagging.resources.r0.maxLagBytes
 * 4 MiB (the node's default is 64 GiB);
 * log deletion every second; dirty map regions of 64 KiB. The writer does
 * 12,000 random 4 KiB writes over the first 2,048 blocks (8 MiB; ~50 MiB of
 * log), two in flight. Bounds checked: alpha's log files never take more
 * than maxLagBytes + 2 MiB (the file being written, one being rotated) +
 * two seconds of writes at the rate measured (a deletion period and the
 * review's), and at most maxLagBytes + 2 MiB once the writes stopped;
 * bravo copies at most the 8 MiB written.
 *
 * MARSD_LAGGING_SEED replays the writer's choices.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { makeDisk, nbdUri, resourceDirOf, sha256File, status, waitCaughtUp } from "../helpers/replication.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { requirePythonNbd } from "../helpers/tools.js";
const SEED = Number(process.env.MARSD_LAGGING_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 64 * MIB;
const MAX_LAG_BYTES = 4 * MIB;
const SLACK_BYTES = 2 * MIB;
const WRITES = 12_000;
/** A 4 KiB write is a 4,160-byte log record. */
const RECORD_BYTES = 4160;
async function logBytes(dir) {
    let bytes = 0;
    for (const name of await readdir(dir)) {
        if (!name.startsWith("log-"))
            continue;
        bytes += await stat(path.join(dir, name))
            .then((s) => s.size)
            .catch(() => 0);
    }
    return bytes;
}
describe(`a dead member is cut loose and resyncs its regions (seed ${SEED})`, { timeout: 240_000 }, () => {
    let cluster;
    after(async () => cluster?.cleanup());
    it("keeps the primary's log bounded while bravo is down, then bravo converges by a region resync", explainOnFailure(async () => {
        await requirePythonNbd();
        cluster = await TestCluster.start({
            hosts: ["alpha", "bravo"],
            config: {
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
                log: { preallocateBytes: 256 * 1024, rotateBytes: MIB },
                jobs: { logRotate: "", logDelete: "* * * * * *" },
                emergency: { enabled: true, dirtyGranularityBytes: 64 * 1024, retryMs: 300 },
                // The node's default stays large; r0's own limit (a per-resource override) is what cuts.
                lagging: {
                    maxLagBytes: 64 * 1024 * MIB,
                    maxLagSeconds: 3600,
                    resources: { r0: { maxLagBytes: MAX_LAG_BYTES } },
                },
            },
        });
        await cluster.form();
        const alpha = cluster.node("alpha").daemon;
        const bravo = cluster.node("bravo").daemon;
        const alphaDisk = await makeDisk(cluster, "alpha", "r0", DISK_BYTES);
        const bravoDisk = await makeDisk(cluster, "bravo", "r0", DISK_BYTES);
        await alpha.rpc.call("resource.create", { name: "r0", disk: alphaDisk, frontend: "nbd" });
        await bravo.rpc.call("resource.join", { name: "r0", disk: bravoDisk });
        await waitFor("bravo UpToDate", async () => (await status(cluster, "bravo", "r0")).diskState === "UpToDate");
        const copiedBefore = (await cluster
            .node("bravo")
            .daemon.metric("marsd_replication_sync_transferred_bytes_total", 'resource="r0"')) ?? 0;
        await bravo.stop();
        // alpha takes ~25 MiB of log while bravo is down; its log area is sampled all along.
        const dir = resourceDirOf(cluster, "alpha", "r0");
        const samples = [];
        const startMs = Date.now();
        let writing = true;
        const sampler = (async () => {
            while (writing) {
                samples.push({ atMs: Date.now() - startMs, bytes: await logBytes(dir) });
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
        })();
        const writer = await startPatternWriter({
            uri: nbdUri(cluster, "alpha", "r0"),
            blocks: 2048,
            depth: 2,
            seed: SEED,
            stateFile: path.join(cluster.baseDir, "writer.json"),
            maxWrites: WRITES,
        });
        const code = await writer.exited;
        const writeSeconds = (Date.now() - startMs) / 1000;
        // Two more deletion periods after the last write.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        writing = false;
        await sampler;
        assert.equal(code, 0, writer.stderr());
        const cut = await alpha.rpc.call("resource.status", { name: "r0" });
        const entry = cut.cutLoose?.find((e) => e.host === "bravo");
        assert.ok(entry, `bravo is cut loose: ${JSON.stringify(cut.cutLoose)}`);
        assert.equal(entry.by, "alpha");
        assert.ok(entry.resumeFile, "files were deleted under it (their regions are in its map)");
        const peak = Math.max(...samples.map((s) => s.bytes));
        const rateBytesPerSec = (WRITES * RECORD_BYTES) / writeSeconds;
        const bound = MAX_LAG_BYTES + SLACK_BYTES + 2 * rateBytesPerSec;
        const last = samples.at(-1)?.bytes ?? 0;
        const series = samples
            .filter((_, i) => i % 5 === 0)
            .map((s) => `${(s.atMs / 1000).toFixed(1)}s:${(s.bytes / MIB).toFixed(1)}`)
            .join(" ");
        console.log(`alpha's log usage (MiB) while bravo was down, every second: ${series}; peak ${(peak / MIB).toFixed(1)} MiB ` +
            `(bound ${(bound / MIB).toFixed(1)} MiB at ${(rateBytesPerSec / MIB).toFixed(1)} MiB/s of log; ` +
            `${((WRITES * RECORD_BYTES) / MIB).toFixed(0)} MiB written), ${(last / MIB).toFixed(1)} MiB at the end; ` +
            `bravo's map: ${entry.dirtyBytes} dirty bytes`);
        assert.ok(peak <= bound, `alpha's logs reached ${peak} bytes`);
        assert.ok(last <= MAX_LAG_BYTES + SLACK_BYTES, `alpha's logs hold ${last} bytes after the writes`);
        // bravo returns: region resync, then replay from the first file still kept.
        await bravo.relaunch();
        await waitCaughtUp(cluster, "bravo", "alpha", "r0", 120_000);
        await waitFor("bravo UpToDate", async () => (await status(cluster, "bravo", "r0")).diskState === "UpToDate");
        const copied = ((await cluster
            .node("bravo")
            .daemon.metric("marsd_replication_sync_transferred_bytes_total", 'resource="r0"')) ?? 0) -
            copiedBefore;
        console.log(`bravo copied ${copied} bytes of a ${DISK_BYTES}-byte disk (${((100 * copied) / DISK_BYTES).toFixed(1)} %)`);
        assert.ok(copied > 0 && copied <= 8 * MIB, `a region resync of the 8 MiB written, not more: ${copied}`);
        assert.equal(await sha256File(alphaDisk, DISK_BYTES), await sha256File(bravoDisk, DISK_BYTES));
        await waitFor("bravo pins log files again", async () => (await alpha.rpc.call("resource.status", { name: "r0" })).cutLoose === undefined);
    }));
});
//# sourceMappingURL=lagging-member.test.js.map
/**
 * Online verify with real daemons, while the application writes: bravo's
 * disk gets one damaged 4 KiB block (behind the daemon's back) outside the
 * blocks the writer keeps changing. resource.verify on bravo finds exactly
 * that chunk, and nothing in the span being written (the primary is ahead
 * there by design, not damaged); with repair it is copied back and the
 * disks end equal; a verify afterwards finds nothing.
 *
 * MARSD_VERIFY_SEED replays the damaged place and the writer's choices.
 */
import assert from "node:assert/strict";
import { open } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { nbdUri, sha256File, startReplicated, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { prng } from "../helpers/prng.js";
import { requirePythonNbd } from "../helpers/tools.js";
const SEED = Number(process.env.MARSD_VERIFY_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 64 * MIB;
/** The writer changes 4 KiB blocks among the first 2,048 (8 MiB). */
const BLOCKS = 2048;
describe(`online verify (seed ${SEED}, MARSD_VERIFY_SEED replays)`, { timeout: 180_000 }, () => {
    let setup;
    after(async () => setup?.cluster.cleanup());
    it("finds one damaged block while the application writes, repairs it, and then finds nothing", explainOnFailure(async () => {
        await requirePythonNbd();
        const random = prng(SEED);
        setup = await startReplicated({
            hosts: ["alpha", "bravo"],
            sizeBytes: DISK_BYTES,
            seedBytes: DISK_BYTES,
        });
        const { cluster } = setup;
        const b = cluster.node("bravo").daemon;
        const [diskA, diskB] = [setup.disks.get("alpha"), setup.disks.get("bravo")];
        const writer = await startPatternWriter({
            uri: nbdUri(cluster, "alpha", "r0"),
            blocks: BLOCKS,
            depth: 2,
            seed: SEED,
            stateFile: path.join(cluster.baseDir, "writer.json"),
        });
        const damagedChunk = 16 + Math.floor(random() * 48);
        const handle = await open(diskB, "r+");
        await handle.write(Buffer.alloc(4096, 0x5a), 0, 4096, damagedChunk * MIB + Math.floor(random() * 256) * 4096);
        await handle.close();
        const runVerify = async (repair) => {
            assert.deepEqual(await b.rpc.call("resource.verify", { name: "r0", repair }), { started: true });
            return waitFor("the verify to finish", async () => {
                const v = (await b.rpc.call("resource.status", { name: "r0" })).verify;
                if (v?.state === "failed")
                    throw new Error(`verify failed: ${v.error}`);
                return v?.state === "done" ? v : undefined;
            }, 60_000, 100);
        };
        await waitFor("the writer to be under way", () => Promise.resolve(writer.acks >= 100));
        const first = await runVerify(false);
        assert.deepEqual(first.mismatches, [[damagedChunk * MIB, MIB]], JSON.stringify(first));
        assert.equal(first.mismatchedBytes, MIB);
        assert.equal(await b.metric("marsd_verify_mismatched_bytes", 'resource="r0"'), MIB);
        const again = await b.rpc.call("resource.verify", { name: "r0" }).catch((err) => err);
        assert.ok(!(again instanceof Error), "a finished verify does not block the next");
        await waitFor("that verify to finish", async () => {
            const v = (await b.rpc.call("resource.status", { name: "r0" })).verify;
            return v?.state !== "running";
        });
        const repaired = await runVerify(true);
        assert.deepEqual(repaired.mismatches, [[damagedChunk * MIB, MIB]]);
        assert.equal(repaired.repairing, true);
        await waitUntil(cluster, "bravo", "r0", "uptodate", 60_000);
        const clean = await runVerify(false);
        assert.equal(clean.mismatchedBytes, 0, JSON.stringify(clean));
        const acks = writer.acks;
        writer.kill();
        await writer.exited;
        await waitCaughtUp(cluster, "bravo", "alpha", "r0");
        assert.equal(await sha256File(diskB, DISK_BYTES), await sha256File(diskA, DISK_BYTES));
        console.log(`verify: damaged chunk ${damagedChunk} found in ${first.rounds} round(s) (${(first.unverifiedBytes / MIB).toFixed(0)} MiB unverified) while ${acks} writes were acknowledged; repaired; clean afterwards`);
    }));
});
//# sourceMappingURL=verify.test.js.map
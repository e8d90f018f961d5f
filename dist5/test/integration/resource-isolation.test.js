/**
 * Failure isolation with real files, a real daemon process and a real NBD
 * client (libnbd's pattern writer, nbdcopy): r1's log directory is a small
 * tmpfs that fills up while r1 is written; r1 alone fails (ENOSPC), r2 on
 * the same daemon keeps serving writes and reads, the admin API answers;
 * r1 recovers by itself (from disk, with a backoff) with every acknowledged
 * write, at the latest once the tmpfs grows: cutting the failed file's
 * preallocated tail may already leave room for a new log file before.
 *
 * Sizes: r1's resource directory is a tmpfs of 6 MiB (remounted to 64 MiB
 * for the recovery); r1 and r2 have 16 MiB disks (files in the test's temp
 * dir), the writers use 2048 blocks of 4 KiB (8 MiB) with 8 requests in
 * flight; r1's writer runs until it gets an error (a 4 KiB write is a
 * 4,160-byte log record, so the 6 MiB fill up after ~1,400 writes, fewer
 * with the log preallocated in 256 KiB steps); r2's writers do 1,500 writes, then 500 more while r1
 * is failed. Recovery backoff: 200 ms doubling to 1 s.
 *
 * Runs as root (mount). MARSD_ISOLATION_SEED replays the writers' choices.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { createVolume, startNode } from "../helpers/single-node.js";
import { requirePythonNbd, requireTool, run } from "../helpers/tools.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";
const SEED = Number(process.env.MARSD_ISOLATION_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 16 * MIB;
const BLOCKS = 2048;
const TMPFS_SMALL = "6m";
const TMPFS_LARGE = "64m";
/** Reads the whole export with nbdcopy and checks every acknowledged block holds its version or a newer one. */
async function verify(daemon, uri, acked, what) {
    const image = path.join(daemon.baseDir, `${what}.readback.img`);
    await run(requireTool("nbdcopy"), [uri, image]);
    await assertAcknowledgedPresent(image, acked, what);
}
describe(`one resource's ENOSPC leaves the node's other resources serving (seed ${SEED})`, { timeout: 180_000 }, () => {
    let daemon;
    let mountPoint;
    before(async () => {
        await requirePythonNbd();
        requireTool("nbdcopy");
    });
    after(async () => {
        // The daemon first (it holds files on the tmpfs), then the mount.
        await daemon?.cleanup().catch(() => undefined);
        if (mountPoint)
            await run(requireTool("umount"), [mountPoint]).catch(() => undefined);
    });
    it("r1 fails alone with ENOSPC, r2 keeps serving over NBD, r1 recovers by itself once space is back", async () => {
        const start = Date.now();
        const elapsed = () => `${Date.now() - start} ms`;
        const config = path.join(os.tmpdir(), `marsd-isolation-${process.pid}.json`);
        await writeFile(config, JSON.stringify({
            resourceRecovery: { initialBackoffMs: 200, maxBackoffMs: 1000 },
            // A full log area fails the resource here (emergency-mode.test.ts has it write on instead).
            emergency: { enabled: false, dirtyGranularityBytes: 1024 * 1024, retryMs: 5000 },
            // Small preallocation steps: the tmpfs fills with log records, not with one big zero fill.
            log: { preallocateBytes: 256 * 1024 },
            jobs: { logRotate: "", logDelete: "" },
        }));
        daemon = await startNode({ extraArgs: ["--config", config] });
        mountPoint = path.join(daemon.dataDir, "resources", "r1");
        await mkdir(mountPoint, { recursive: true });
        try {
            await run(requireTool("mount"), ["-t", "tmpfs", "-o", `size=${TMPFS_SMALL}`, "tmpfs", mountPoint]);
        }
        catch (err) {
            mountPoint = undefined;
            throw new Error(`this test mounts a tmpfs and must run as root: mount failed: ${String(err)}`);
        }
        const r1 = await createVolume(daemon, "r1", DISK_BYTES);
        const r2 = await createVolume(daemon, "r2", DISK_BYTES);
        const stateFile = (name) => path.join(daemon.baseDir, `${name}.state.json`);
        const status = (name) => daemon.rpc.call("resource.status", { name });
        // r1 is written until its log area is full; r2 is written meanwhile.
        const w1 = await startPatternWriter({
            uri: r1.uri,
            blocks: BLOCKS,
            depth: 8,
            seed: SEED,
            stateFile: stateFile("r1"),
        });
        const w2 = await startPatternWriter({
            uri: r2.uri,
            blocks: BLOCKS,
            depth: 8,
            seed: SEED + 1,
            stateFile: stateFile("r2"),
            maxWrites: 1500,
        });
        const failed = await waitFor("r1 failed", async () => {
            const s = await status("r1");
            return s.state === "failed" ? s : undefined;
        }, 60_000);
        const failedAt = elapsed();
        assert.match(failed.error ?? "", /ENOSPC/, `r1 fails with ENOSPC: ${failed.error}`);
        const w1Code = await w1.exited;
        console.log(`r1 failed after ${failedAt} and ${w1.acks} acknowledged writes: ${failed.error}; ` +
            `its NBD client exited ${w1Code} saying: ${w1.stderr().trim() || "(nothing)"}`);
        assert.ok(w1.acks > 0, "r1 acknowledged writes before its log area was full");
        // Counted once its files are closed (the export is gone by then).
        await waitFor("r1's failure counted", async () => ((await daemon.metric("marsd_resource_failures_total", 'resource="r1"')) ?? NaN) === 1);
        assert.equal((await daemon.metric("marsd_resource_failed", 'resource="r1"')) ?? NaN, 1);
        assert.equal((await status("r1")).device, undefined, "r1's export is gone while it is failed");
        // r2 was not disturbed and keeps serving; the admin API answers.
        assert.equal(await w2.exited, 0, w2.stderr());
        assert.equal(w2.acks, 1500, `every write to r2 was acknowledged: ${w2.stderr()}`);
        const w2b = await startPatternWriter({
            uri: r2.uri,
            blocks: BLOCKS,
            depth: 8,
            seed: SEED + 2,
            stateFile: stateFile("r2b"),
            initialState: w2.acked,
            maxWrites: 500,
        });
        assert.equal(await w2b.exited, 0, w2b.stderr());
        assert.equal(w2b.acks, 500, `r2 serves writes while r1 is failed: ${w2b.stderr()}`);
        const r2Acked = new Map([...w2.acked, ...w2b.acked]);
        await verify(daemon, r2.uri, r2Acked, "r2");
        assert.equal((await status("r2")).state, "running");
        assert.equal((await daemon.metric("marsd_resource_failures_total", 'resource="r2"')) ?? NaN, 0);
        const node = await daemon.rpc.call("node.info", {});
        assert.equal(node.host, daemon.host);
        // Cutting the failed file's preallocated tail on recovery may leave room for a new log file
        // already, so r1 can come back before the remount: report which happened.
        const beforeRemount = await status("r1");
        console.log(`before the remount r1 is ${beforeRemount.state} (${elapsed()}); recovery attempts: ` +
            `${(await daemon.metric("marsd_resource_recoveries_total", 'resource="r1",result="failed"')) ?? NaN} failed, ` +
            `${(await daemon.metric("marsd_resource_recoveries_total", 'resource="r1",result="succeeded"')) ?? NaN} succeeded`);
        // Space is back: r1 recovers by itself, exported again, with every write acknowledged before the failure.
        await run(requireTool("mount"), ["-o", `remount,size=${TMPFS_LARGE}`, mountPoint]);
        const remountedAt = Date.now();
        const back = await waitFor("r1 running and exported again", async () => {
            const s = await status("r1");
            return s.state === "running" && s.device?.uri ? s : undefined;
        }, 30_000);
        console.log(`r1 recovered ${Date.now() - remountedAt} ms after the remount (attempts so far: ` +
            `${(await daemon.metric("marsd_resource_recoveries_total", 'resource="r1",result="failed"')) ?? NaN} failed, ` +
            `${(await daemon.metric("marsd_resource_recoveries_total", 'resource="r1",result="succeeded"')) ?? NaN} succeeded)`);
        assert.equal((await daemon.metric("marsd_resource_recoveries_total", 'resource="r1",result="succeeded"')) ?? NaN, 1);
        // The daemon's own timestamps: the failure, its files closed, the recovery done.
        const at = (msg) => {
            const line = daemon.output
                .split("\n")
                .find((l) => l.includes(`"resource":"r1"`) && l.includes(`"msg":"${msg}"`));
            return line ? Date.parse(JSON.parse(line).time) : undefined;
        };
        const failedMs = at("resource failed");
        console.log(`daemon log: r1 failed at +0 ms, files closed and recovery scheduled at ` +
            `+${(at("resource recovery scheduled") ?? NaN) - (failedMs ?? NaN)} ms, ` +
            `recovered at +${(at("resource recovered") ?? NaN) - (failedMs ?? NaN)} ms`);
        assert.equal((await daemon.metric("marsd_resource_failed", 'resource="r1"')) ?? NaN, 0);
        assert.equal((await daemon.metric("marsd_resource_recovery_attempts", 'resource="r1"')) ?? NaN, 0);
        await verify(daemon, back.device?.uri ?? r1.uri, w1.acked, "r1");
        // r1 takes writes again.
        const w1b = await startPatternWriter({
            uri: r1.uri,
            blocks: BLOCKS,
            depth: 8,
            seed: SEED + 3,
            stateFile: stateFile("r1b"),
            initialState: w1.acked,
            maxWrites: 200,
        });
        assert.equal(await w1b.exited, 0, w1b.stderr());
        assert.equal(w1b.acks, 200, `r1 serves writes after its recovery: ${w1b.stderr()}`);
    });
});
//# sourceMappingURL=resource-isolation.test.js.map
/**
 * Stopping: SIGTERM while a real client writes drains the IO, finishes the
 * log, checkpoints and exits 0, so the restart replays nothing and every
 * acknowledged write is there. Failing: a failed log fdatasync in a real
 * (in-process) daemon fails the writes with EIO and fails that resource
 * only (its export goes away, the failed file is never touched again);
 * its recovery from disk, retried with a backoff, brings it back with
 * what was acknowledged.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { Cmd, Errno, Opt, Rep } from "../../src/frontend/nbd/protocol.js";
import { waitFor } from "../helpers/daemon-process.js";
import { FaultyStorage } from "../helpers/faulty-file.js";
import { startInProcess } from "../helpers/in-process.js";
import { RawNbdClient } from "../helpers/nbd-client.js";
import { startNodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run, SYSTEM_PYTHON } from "../helpers/tools.js";
import { BLOCK_BYTES, PATTERN_WRITER, blockVersion } from "../helpers/versioned-blocks.js";
const MIB = 1024 * 1024;
describe("clean stop and fatal failure", () => {
    const cleanups = [];
    after(async () => {
        for (const c of cleanups.reverse())
            await c().catch(() => undefined);
    });
    it("SIGTERM under load: drains, finishes the log, checkpoints, exits 0; the restart replays nothing", async () => {
        const nbdcopy = requireTool("nbdcopy");
        const blocks = 1024;
        const node = await startNodeWithVolume({ sizeBytes: blocks * BLOCK_BYTES });
        cleanups.push(() => node.daemon.cleanup());
        const stateFile = path.join(node.daemon.baseDir, "state.json");
        await writeFile(stateFile, "{}");
        const child = spawn(SYSTEM_PYTHON, [PATTERN_WRITER, node.uri, String(blocks), "32", "7", stateFile], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        const acked = new Map();
        let acks = 0;
        createInterface({ input: child.stdout }).on("line", (line) => {
            const m = /^ack (\d+) (\d+)$/.exec(line);
            if (m) {
                acked.set(Number(m[1]), Number(m[2]));
                acks += 1;
            }
        });
        const writerExited = new Promise((resolve) => child.once("exit", resolve));
        await waitFor("the writer to get going", () => acks >= 300);
        const code = await node.daemon.stop();
        assert.equal(code, 0, node.daemon.output);
        await writerExited;
        assert.match(node.daemon.output, /"msg":"stopped"/);
        await node.daemon.relaunch();
        const status = await waitFor("r0 exported again", async () => {
            const s = await node.daemon.rpc.call("resource.status", { name: "r0" });
            return s.device ? s : undefined;
        });
        assert.deepEqual(status.log.recovery, { replayedBytes: 0, tornBytes: 0 }, "a clean stop leaves nothing to replay");
        const image = path.join(node.daemon.baseDir, "readback.img");
        await run(nbdcopy, [node.uri, image]);
        const bytes = await readFile(image);
        for (const [block, version] of acked) {
            const found = blockVersion(bytes, block);
            assert.ok(typeof found === "number" && found >= version, `block ${block}: ${String(found)} < ${version}`);
        }
    });
    it("a failed log fdatasync fails that resource only: EIO, export gone, files never reused, recovered from disk", async () => {
        const failures = [];
        let armed = false;
        /** The log file whose fdatasync failed, and writes/syncs on it before its descriptors closed (must stay 0). */
        let failedPath;
        let reusedFailedFile = 0;
        const storage = new FaultyStorage({
            match: (p) => /\/log-\d{9}-/.test(p),
            beforeOp: (op, p) => {
                // Until the failed resource has closed its files (it reports the failure after that), nothing
                // may write or sync the failed file; afterwards only recovery opens it anew, as a restart would.
                if (failedPath === p && op !== "read" && failures.length === 0)
                    reusedFailedFile += 1;
                // Fail from the first batch sync after arming (the file header was synced before).
                if (armed && op === "datasync") {
                    storage.plan.failDatasyncFrom = 1;
                    failedPath ??= p;
                }
            },
        });
        const node = await startInProcess({ storage, onResourceFailed: (resource, err) => failures.push({ resource, err }) }, (c) => (c.resourceRecovery = { initialBackoffMs: 100, maxBackoffMs: 400 }));
        cleanups.push(() => node.cleanup());
        const disk = path.join(node.baseDir, "disk.img");
        await writeFile(disk, Buffer.alloc(4 * MIB));
        await node.daemon.resources.create({ name: "r0", disk, frontend: "nbd" });
        const connect = async () => {
            const c = await RawNbdClient.connect(node.config.nbd.socket);
            cleanups.push(() => Promise.resolve(c.close()));
            await c.handshake();
            c.sendOption(Opt.GO, RawNbdClient.infoRequest("r0"));
            assert.equal((await c.readOptionReply()).type, Rep.INFO);
            assert.equal((await c.readOptionReply()).type, Rep.ACK);
            return c;
        };
        const c = await connect();
        // Acknowledged before the failure.
        c.sendRequest(Cmd.WRITE, { cookie: 1n, offset: 0n, data: Buffer.alloc(4096, 0x11) });
        assert.equal((await c.readSimpleReply()).errno, Errno.OK);
        armed = true;
        storage.plan.failDatasyncFrom = storage.calls.datasync + 1;
        c.sendRequest(Cmd.WRITE, { cookie: 2n, offset: 4096n, data: Buffer.alloc(4096, 0x22) });
        assert.deepEqual(await c.readSimpleReply(), { errno: Errno.EIO, cookie: 2n });
        // Failed, alone: the export goes away, the daemon stays up and keeps retrying while the fault lasts.
        await waitFor("r0 failed and unexported", () => {
            const r = node.daemon.resources.get("r0");
            return r?.state === "failed" && node.daemon.deviceOf("r0") === undefined && failures.length > 0;
        });
        assert.equal(failures.length, 1, "the failure is reported once");
        assert.equal(failures[0]?.resource, "r0");
        assert.match(String(failures[0]?.err), /EIO/);
        assert.match(node.daemon.resources.get("r0")?.detail().error ?? "", /fdatasync/);
        const failedMetrics = await node.daemon.metrics.registry.metrics();
        assert.match(failedMetrics, /^marsd_resource_failed\{resource="r0"\} 1$/m);
        assert.match(failedMetrics, /^marsd_resource_failures_total\{resource="r0"\} 1$/m);
        await waitFor("a recovery attempt that fails while the log still fails", async () => /^marsd_resource_recoveries_total\{resource="r0",result="failed"\} [1-9]/m.test(await node.daemon.metrics.registry.metrics()));
        assert.ok(node.logs.some((l) => l.msg === "resource failed"), "the failure is logged");
        // The fault goes away: the next attempt recovers from disk and exports r0 again.
        armed = false;
        delete storage.plan.failDatasyncFrom;
        await waitFor("r0 running and exported again", () => {
            const r = node.daemon.resources.get("r0");
            return r?.state === "running" && node.daemon.deviceOf("r0") !== undefined;
        });
        const healed = await node.daemon.metrics.registry.metrics();
        assert.match(healed, /^marsd_resource_recoveries_total\{resource="r0",result="succeeded"\} 1$/m);
        assert.match(healed, /^marsd_resource_recovery_attempts\{resource="r0"\} 0$/m);
        assert.match(healed, /^marsd_resource_failed\{resource="r0"\} 0$/m);
        assert.ok(failedPath, "the failing log file was seen");
        assert.equal(reusedFailedFile, 0, `the failed log file ${failedPath} is not written or synced again through its open descriptors`);
        const again = await connect();
        again.sendRequest(Cmd.READ, { cookie: 6n, offset: 0n, length: 3 * 4096 });
        const read = await again.readSimpleReply(3 * 4096);
        assert.equal(read.errno, Errno.OK);
        const target = read.data ?? Buffer.alloc(0);
        assert.ok(target.subarray(0, 4096).equals(Buffer.alloc(4096, 0x11)), "the acknowledged write survived");
        // A write answered with EIO may or may not have landed (as on any disk), but never partly.
        const block = target.subarray(4096, 8192);
        assert.ok(block.equals(Buffer.alloc(4096)) || block.equals(Buffer.alloc(4096, 0x22)), "block at 4096");
        again.sendRequest(Cmd.WRITE, { cookie: 7n, offset: 8192n, data: Buffer.alloc(4096, 0x33) });
        assert.equal((await again.readSimpleReply()).errno, Errno.OK, "writes are served again");
    });
    it("an operator can delete a resource that keeps failing its recovery; the name can be used again", async () => {
        let armed = false;
        const storage = new FaultyStorage({
            match: (p) => /\/log-\d{9}-/.test(p),
            beforeOp: (op) => {
                // Every log sync fails while armed: recovery attempts fail too (their new log file's header).
                if (armed && op === "datasync")
                    storage.plan.failDatasyncFrom = 1;
            },
        });
        const node = await startInProcess({ storage }, (c) => (c.resourceRecovery = { initialBackoffMs: 50, maxBackoffMs: 100 }));
        cleanups.push(() => node.cleanup());
        const disk = path.join(node.baseDir, "disk.img");
        await writeFile(disk, Buffer.alloc(4 * MIB));
        await node.daemon.resources.create({ name: "r0", disk, frontend: "nbd" });
        armed = true;
        storage.plan.failDatasyncFrom = storage.calls.datasync + 1;
        await assert.rejects(node.daemon.resources.get("r0")?.volume?.write(0, Buffer.alloc(4096, 0x44)) ?? Promise.resolve(), /EIO/);
        await waitFor("two failed recovery attempts", async () => /^marsd_resource_recoveries_total\{resource="r0",result="failed"\} [2-9]/m.test(await node.daemon.metrics.registry.metrics()));
        assert.equal(node.daemon.resources.get("r0")?.state, "failed");
        assert.deepEqual(await node.daemon.resources.delete({ name: "r0" }), { changed: true });
        assert.equal(node.daemon.resources.get("r0"), undefined);
        assert.doesNotMatch(await node.daemon.metrics.registry.metrics(), /resource="r0"/, "its series are gone");
        armed = false;
        delete storage.plan.failDatasyncFrom;
        const { resource } = await node.daemon.resources.create({ name: "r0", disk, frontend: "nbd" });
        assert.equal(resource.state, "running");
        await resource.volume?.write(0, Buffer.alloc(4096, 0x55));
        assert.equal(node.daemon.resources.get("r0"), resource, "no stale recovery replaced the new resource");
    });
});
//# sourceMappingURL=shutdown.test.js.map
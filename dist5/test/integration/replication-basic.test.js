/**
 * Three real daemons replicating one resource: join with full sync (equal
 * chunks skipped), replication of a real client's writes across log
 * rotations, identical disks once caught up, pause/resume, log deletion on
 * every node, leaving and evicting members.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { diskDigests, nbdUri, resourceDirOf, startReplicated, status, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { requireTool, requirePythonNbd } from "../helpers/tools.js";
const SIZE = 32 * 1024 * 1024;
const BLOCKS = 4096;
describe("replication between three daemons", { timeout: 300_000 }, () => {
    let setup;
    let scratch;
    before(async () => {
        requireTool("nbdcopy");
        await requirePythonNbd();
        scratch = await mkdtemp(path.join(os.tmpdir(), "marsd-repl-"));
        setup = await startReplicated({
            hosts: ["node-a", "node-b", "node-c"],
            sizeBytes: SIZE,
            seedBytes: 8 * 1024 * 1024,
            config: {
                log: { rotateBytes: 2 * 1024 * 1024 },
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
            },
        });
    });
    after(async () => {
        await setup?.cluster.cleanup();
        if (scratch)
            await rm(scratch, { recursive: true, force: true });
    });
    test("joined members did a full sync and are UpToDate with the primary's seeded disk", async () => {
        const digests = await diskDigests(setup);
        assert.equal(new Set(digests.values()).size, 1, `disks differ after sync: ${JSON.stringify([...digests])}`);
        const s = await status(setup.cluster, "node-b", "r0");
        assert.equal(s.role, "secondary");
        assert.equal(s.diskState, "UpToDate");
        assert.equal(s.consistent, true);
        assert.equal(s.designatedPrimary, "node-a");
        // The primary sees every member.
        const p = await status(setup.cluster, "node-a", "r0");
        assert.deepEqual(p.members.map((m) => m.host).sort(), ["node-a", "node-b", "node-c"]);
    });
    test("a real client's writes replicate through log rotations; disks end identical", async () => {
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: BLOCKS,
            depth: 16,
            seed: 7,
            stateFile: path.join(scratch, "state.json"),
            maxWrites: 3000,
        });
        assert.equal(await writer.exited, 0, writer.stderr());
        assert.equal(writer.acks, 3000);
        await setup.cluster.node("node-a").daemon.rpc.call("resource.logRotate", { name: "r0" });
        await waitUntil(setup.cluster, "node-a", "r0", "replicated");
        for (const host of ["node-b", "node-c"])
            await waitUntil(setup.cluster, host, "r0", "uptodate");
        const digests = await diskDigests(setup);
        assert.equal(new Set(digests.values()).size, 1, `disks differ: ${JSON.stringify([...digests])}`);
        // 3000 × 4 KiB records through 2 MiB files: several files, replayed on both secondaries in order.
        const files = (await status(setup.cluster, "node-b", "r0")).log.files;
        assert.ok(files.length >= 5, `expected several log files, got ${files.map((f) => f.name).join(", ")}`);
        const versions = await setup.cluster.stateOf("node-a", "resource/r0/host/node-b/version/");
        assert.ok(Object.keys(versions).length >= 4, "the secondary publishes a version for every file it replayed");
    });
    test("a paused fetch freezes a member, across a restart too; resuming catches it up", async () => {
        const c = setup.cluster.node("node-c").daemon.rpc;
        assert.deepEqual(await c.call("resource.pause", { name: "r0", what: "fetch" }), { changed: true });
        assert.deepEqual(await c.call("resource.pause", { name: "r0", what: "fetch" }), { changed: false });
        const before = (await diskDigests(setup)).get("node-c");
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: BLOCKS,
            depth: 8,
            seed: 8,
            stateFile: path.join(scratch, "state2.json"),
            maxWrites: 500,
        });
        assert.equal(await writer.exited, 0, writer.stderr());
        await waitUntil(setup.cluster, "node-b", "r0", "uptodate");
        const paused = await status(setup.cluster, "node-c", "r0");
        assert.equal(paused.replState, "PausedFetch");
        assert.equal((await diskDigests(setup)).get("node-c"), before, "a paused member's disk does not change");
        // The pause survives a restart, and resuming after one fetches again
        // (the fetch loop of a member that starts paused starts on resume).
        const nodeC = setup.cluster.node("node-c").daemon;
        await nodeC.stop();
        await nodeC.relaunch();
        await waitFor("node-c to run again", async () => (await status(setup.cluster, "node-c", "r0")).state === "running");
        assert.equal((await status(setup.cluster, "node-c", "r0")).replState, "PausedFetch");
        assert.deepEqual(await nodeC.rpc.call("resource.resume", { name: "r0", what: "fetch" }), {
            changed: true,
        });
        await waitUntil(setup.cluster, "node-c", "r0", "uptodate");
        // "uptodate" compares with the primary's last published status: compare
        // disks once both have applied everything node-a made durable.
        for (const host of ["node-b", "node-c"])
            await waitCaughtUp(setup.cluster, host, "node-a", "r0");
        const digests = await diskDigests(setup);
        assert.equal(new Set(digests.values()).size, 1);
    });
    test("log files every member replayed are deleted on every node", async () => {
        await waitUntil(setup.cluster, "node-a", "r0", "replicated");
        // Positions reach the others through published status entries: wait until the floor moved.
        await waitFor("replayed files deleted everywhere", async () => {
            let everywhere = true;
            for (const host of ["node-a", "node-b", "node-c"]) {
                const r = await setup.cluster
                    .node(host)
                    .daemon.rpc.call("resource.logDelete", { name: "r0" });
                void r;
                const files = (await readdir(resourceDirOf(setup.cluster, host, "r0"))).filter((f) => f.startsWith("log-"));
                if (files.length > 2)
                    everywhere = false;
            }
            return everywhere;
        }, 30_000, 300);
        // Replication goes on after deletion.
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: BLOCKS,
            depth: 8,
            seed: 9,
            stateFile: path.join(scratch, "state3.json"),
            maxWrites: 300,
        });
        assert.equal(await writer.exited, 0, writer.stderr());
        await waitUntil(setup.cluster, "node-a", "r0", "replicated");
        for (const host of ["node-b", "node-c"])
            await waitUntil(setup.cluster, host, "r0", "uptodate");
        assert.equal(new Set((await diskDigests(setup)).values()).size, 1);
    });
    test("a member leaves; a dead member is evicted by a survivor and no longer pins logs", async () => {
        const a = setup.cluster.node("node-a").daemon.rpc;
        await assert.rejects(a.call("resource.leave", { name: "r0" }), (err) => err.code === 1002);
        await assert.rejects(a.call("resource.delete", { name: "r0" }), (err) => err.code === 1002);
        const c = setup.cluster.node("node-c").daemon.rpc;
        assert.deepEqual(await c.call("resource.leave", { name: "r0" }), { changed: true });
        assert.deepEqual(await c.call("resource.leave", { name: "r0" }), { changed: false });
        await setup.cluster.waitConverged("node-c no longer a member", async (n) => !(await status(setup.cluster, n.host, "r0")).members.some((m) => m.host === "node-c"), 10_000, ["node-a", "node-b"]);
        await setup.cluster.node("node-b").daemon.kill9();
        assert.deepEqual(await a.call("resource.leave", { name: "r0", host: "node-b", force: true }), {
            changed: true,
        });
        const members = (await status(setup.cluster, "node-a", "r0")).members.map((m) => m.host);
        assert.deepEqual(members, ["node-a"]);
        // Alone now, the primary deletes its old files itself.
        await a.call("resource.logRotate", { name: "r0" });
        const r = await a.call("resource.logDelete", { name: "r0" });
        assert.ok(r.deleted.length >= 1, "the evicted member pinned logs no more");
        assert.deepEqual(await a.call("resource.delete", { name: "r0" }), { changed: true });
        assert.deepEqual(await a.call("resource.delete", { name: "r0" }), { changed: false });
    });
});
//# sourceMappingURL=replication-basic.test.js.map
/**
 * Roles with real daemons and fault proxies between them: planned handover
 * under load (no acknowledged write lost), forced failover with the old
 * primary cut off while it keeps writing, split brain detected on every
 * node when it returns (and never merged), and roles restored from the
 * cluster state after a restart of every node.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { diskDigests, nbdUri, startReplicated, status, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { BLOCK_BYTES, assertAcknowledgedPresent, blockVersion } from "../helpers/versioned-blocks.js";
const MIB = 1024 * 1024;
const BLOCKS = 2048;
async function metric(url, line) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = text.split("\n").find((l) => line.test(l));
    return m === undefined ? undefined : Number(m.split(" ").pop());
}
describe("roles: handover, failover, split brain, restart", { timeout: 600_000 }, () => {
    let setup;
    let state = new Map();
    before(async () => {
        await requirePythonNbd();
        setup = await startReplicated({
            hosts: ["node-a", "node-b", "node-c"],
            sizeBytes: 16 * MIB,
            config: {
                log: { rotateBytes: 4 * MIB },
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
            },
        });
    });
    after(async () => setup?.cluster.cleanup());
    test("planned handover under load: no acknowledged write is lost, the new primary serves", explainOnFailure(async () => {
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: BLOCKS,
            depth: 16,
            seed: 21,
            stateFile: path.join(setup.cluster.baseDir, "w1.json"),
        });
        await waitFor("the writer to get going", () => writer.acks > 300);
        const started = Date.now();
        assert.deepEqual(await setup.cluster.node("node-b").daemon.rpc.call("resource.primary", { name: "r0" }), {
            changed: true,
        });
        const handoverMs = Date.now() - started;
        await writer.exited; // the old primary stopped taking writes: the writer saw an error and stopped
        assert.ok(writer.acks > 300);
        const b = await status(setup.cluster, "node-b", "r0");
        assert.equal(b.role, "primary");
        assert.ok(b.device?.uri, "the new primary exports the device");
        await assertAcknowledgedPresent(setup.disks.get("node-b"), writer.acked, "new primary after handover");
        state = writer.acked;
        // The old primary follows the new one; writes on the new primary reach everyone.
        const second = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-b", "r0"),
            blocks: BLOCKS,
            depth: 8,
            seed: 22,
            stateFile: path.join(setup.cluster.baseDir, "w2.json"),
            initialState: state,
            maxWrites: 500,
        });
        assert.equal(await second.exited, 0, second.stderr());
        for (const [k, v] of second.acked)
            state.set(k, v);
        await waitUntil(setup.cluster, "node-b", "r0", "replicated");
        for (const host of ["node-a", "node-c"])
            await waitUntil(setup.cluster, host, "r0", "uptodate");
        assert.equal(new Set((await diskDigests(setup)).values()).size, 1);
        assert.equal((await status(setup.cluster, "node-a", "r0")).role, "secondary");
        assert.ok(handoverMs < 30_000, `handover took ${handoverMs} ms`);
    }));
    test("an inconsistent or unreachable-primary handover is refused without force", explainOnFailure(async () => {
        const c = setup.cluster.node("node-c").daemon.rpc;
        setup.cluster.partition("node-b", { refuse: true });
        try {
            await waitFor("node-c to see node-b dead", async () => {
                const s = await c.call("cluster.status");
                return s.members.find((m) => m.host === "node-b")?.alive === false;
            });
            await assert.rejects(c.call("resource.primary", { name: "r0" }), (err) => err.code === 1023);
        }
        finally {
            setup.cluster.healAll();
        }
        await waitFor("node-b alive again for node-c", async () => {
            const s = await c.call("cluster.status");
            return s.members.find((m) => m.host === "node-b")?.alive === true;
        });
    }));
    test("forced failover with the old primary cut off; split brain detected everywhere when it returns", explainOnFailure(async () => {
        // node-b is primary. Cut it off from everyone, keep writing to it.
        setup.cluster.partition("node-b");
        const lost = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-b", "r0"),
            blocks: BLOCKS,
            depth: 8,
            seed: 23,
            stateFile: path.join(setup.cluster.baseDir, "w3.json"),
            initialState: state,
            maxWrites: 400,
        });
        assert.equal(await lost.exited, 0, lost.stderr());
        // node-c takes over with what it has.
        const c = setup.cluster.node("node-c").daemon.rpc;
        assert.deepEqual(await c.call("resource.primary", { name: "r0", force: true }), { changed: true });
        const survivor = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-c", "r0"),
            blocks: BLOCKS,
            depth: 8,
            seed: 24,
            stateFile: path.join(setup.cluster.baseDir, "w4.json"),
            initialState: state,
            maxWrites: 300,
        });
        assert.equal(await survivor.exited, 0, survivor.stderr());
        await waitCaughtUp(setup.cluster, "node-a", "node-c", "r0").catch(async (err) => {
            const a = await setup.cluster.node("node-a").daemon.rpc.call("resource.status", { name: "r0" });
            throw new Error(`${String(err)}\n${JSON.stringify(a)}\n${setup.cluster
                .node("node-a")
                .daemon.output.split("\n")
                .filter((l) => /warn|error/.test(l))
                .slice(-15)
                .join("\n")}`);
        });
        await assertAcknowledgedPresent(setup.disks.get("node-a"), survivor.acked, "node-a follows the new primary");
        const bDiskBefore = await readFile(setup.disks.get("node-b"));
        // The old primary returns: it learns it is no longer primary, and the histories differ.
        setup.cluster.healAll();
        for (const host of ["node-a", "node-b", "node-c"]) {
            await waitUntil(setup.cluster, host, "r0", "splitbrain", 30_000).catch((err) => {
                throw new Error(`${host}: ${String(err)}\n${setup.cluster.node(host).daemon.output.slice(-4000)}`);
            });
            const s = await status(setup.cluster, host, "r0");
            assert.equal(s.splitBrain.detected, true, `${host} reports the split brain`);
            await waitFor(`${host}'s split-brain metric`, async () => (await metric(setup.cluster.node(host).daemon.adminUrl, /^marsd_resource_split_brain\{resource="r0"\}/)) === 1);
        }
        // The fork shows while node-b is still primary (its durable position is
        // past the cut); it steps down as soon as it learns of the new designation.
        await waitUntil(setup.cluster, "node-b", "r0", "secondary", 30_000);
        const b = await status(setup.cluster, "node-b", "r0");
        assert.equal(b.role, "secondary", "the old primary stepped down");
        assert.equal(b.replState, "SplitBrain");
        // Never merged: the old primary's disk still holds its own last writes, none of the survivor's.
        const bDisk = await readFile(setup.disks.get("node-b"));
        for (const [block, version] of lost.acked) {
            const v = blockVersion(bDisk, block);
            assert.ok(typeof v === "number" && v >= version, `node-b lost its own block ${block}`);
        }
        for (let i = 0; i < BLOCKS; i++) {
            assert.deepEqual(bDisk.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES), bDiskBefore.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES), `block ${i} of the old primary changed after the split brain`);
        }
    }));
    test("roles and state are restored from the cluster state after every node restarts", explainOnFailure(async () => {
        const roles = new Map();
        for (const host of ["node-a", "node-b", "node-c"])
            roles.set(host, (await status(setup.cluster, host, "r0")).role);
        for (const n of setup.cluster.nodes)
            await n.daemon.kill9();
        for (const n of setup.cluster.nodes)
            await n.daemon.relaunch();
        // The designated primary exports again only once it has heard every
        // other member since its start (the designation may have moved).
        await waitUntil(setup.cluster, "node-c", "r0", "primary");
        for (const [host, role] of roles) {
            const s = await status(setup.cluster, host, "r0");
            assert.equal(s.role, role, `${host} is ${role} again`);
        }
        await waitUntil(setup.cluster, "node-a", "r0", "uptodate");
        await waitUntil(setup.cluster, "node-b", "r0", "splitbrain");
    }));
});
//# sourceMappingURL=replication-roles.test.js.map
/**
 * MARS's forced-switch matrix against real daemons, fault proxies and a
 * real NBD client. Three nodes, alpha primary; alpha is frozen (SIGSTOP),
 * cut off or killed; bravo is forced primary and written to; alpha comes
 * back. Every case checks the states on every node and the disk checksums:
 *
 * - when only the new side wrote, nothing diverged: no split brain, every
 *   disk equals bravo's;
 * - when the old primary acknowledged writes after the cut, the fork is
 *   reported on every node, nothing is merged, charlie follows bravo, and a
 *   repair (the loser leaves and joins again) makes every disk equal, with
 *   either side as the winner;
 * - a failover to a lagging secondary leaves the more advanced secondary on
 *   a fork of its own, reported and repaired the same way;
 * - a double failover lists both forks, and survives a restart of every
 *   node with the roles kept.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { afterEach, describe, test } from "node:test";
import { parseLogName } from "../../src/log/log-name.js";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { diskDigests, nbdUri, startReplicated, status, waitUntil, waitCaughtUp, } from "../helpers/replication.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
const MIB = 1024 * 1024;
const BLOCKS = 1024;
const HOSTS = ["alpha", "bravo", "charlie"];
let setup;
afterEach(async () => {
    const s = setup;
    setup = undefined;
    if (s) {
        for (const n of s.cluster.nodes)
            n.daemon.child?.kill("SIGCONT");
        await s.cluster.cleanup();
    }
});
async function threeNodes(extraConfig = {}) {
    await requirePythonNbd();
    setup = await startReplicated({
        hosts: HOSTS,
        sizeBytes: 8 * MIB,
        config: {
            log: { rotateBytes: 2 * MIB },
            replication: { statusPublishMs: 200, heartbeatMs: 300, listWaitMs: 1000 },
            ...extraConfig,
        },
    });
    return setup;
}
let writers = 0;
function writer(s, host, maxWrites, state) {
    writers += 1;
    return startPatternWriter({
        uri: nbdUri(s.cluster, host, s.name),
        blocks: BLOCKS,
        depth: 8,
        seed: 1000 + writers,
        stateFile: path.join(s.cluster.baseDir, `matrix-${writers}.json`),
        initialState: state,
        maxWrites,
    });
}
async function write(s, host, maxWrites, state) {
    const w = await writer(s, host, maxWrites, state);
    assert.equal(await w.exited, 0, w.stderr());
    for (const [k, v] of w.acked)
        state.set(k, v);
    return w;
}
function rpc(s, host) {
    return s.cluster.node(host).daemon.rpc;
}
async function forks(s, host) {
    const st = await rpc(s, host).call("resource.status", { name: s.name });
    return (st.splitBrain.forks ?? []).map((f) => f.fileNumber);
}
/** Every disk equal, every secondary UpToDate, no fork anywhere. */
async function assertOneHistory(s, primary, what) {
    for (const host of HOSTS.filter((h) => h !== primary))
        await waitUntil(s.cluster, host, s.name, "uptodate");
    await waitUntil(s.cluster, primary, s.name, "replicated");
    for (const host of HOSTS) {
        // The loser's withdrawn version entries reach the third node by gossip: a
        // fork it still lists right after the repair must clear, not stay.
        const st = await waitFor(`${what}: ${host} to see one history`, async () => {
            const now = await status(s.cluster, host, s.name);
            return now.splitBrain.detected ? undefined : now;
        }, 10_000).catch(async () => status(s.cluster, host, s.name));
        assert.equal(st.splitBrain.detected, false, `${what}: ${host} reports a split brain`);
        assert.equal(st.role, host === primary ? "primary" : "secondary", `${what}: ${host}'s role`);
    }
    const digests = await diskDigests(s);
    assert.equal(new Set(digests.values()).size, 1, `${what}: disks differ ${JSON.stringify([...digests])}`);
}
/** The loser leaves and joins again: a full sync from the winner. */
async function repair(s, loser) {
    await waitUntil(s.cluster, loser, s.name, "secondary", 30_000);
    await rpc(s, loser).call("resource.leave", { name: s.name });
    await rpc(s, loser).call("resource.join", { name: s.name, disk: s.disks.get(loser) });
    await waitUntil(s.cluster, loser, s.name, "uptodate").catch(async (err) => {
        const st = await rpc(s, loser).call("resource.status", { name: s.name });
        const log = s.cluster
            .node(loser)
            .daemon.output.split("\n")
            .filter((l) => /warn|error|take-over|sync|consistent|joined|primary|stepping/.test(l));
        throw new Error(`${loser} after its repair: ${String(err)}\n${JSON.stringify(st)}\n${log.slice(-25).join("\n")}`);
    });
}
/** Whether position `a` is at or after `b` in one history (file number, then offset). */
function positionAtOrAfter(a, b) {
    if (!b)
        return true;
    if (!a)
        return false;
    const an = parseLogName(a.file)?.fileNumber ?? 0;
    const bn = parseLogName(b.file)?.fileNumber ?? 0;
    return an > bn || (a.file === b.file && a.offsetBytes >= b.offsetBytes);
}
async function fault(s, how) {
    const alpha = s.cluster.node("alpha").daemon;
    if (how === "frozen")
        alpha.child?.kill("SIGSTOP");
    else if (how === "cut")
        s.cluster.partition("alpha");
    else
        await alpha.kill9();
}
async function heal(s, how) {
    const alpha = s.cluster.node("alpha").daemon;
    if (how === "frozen")
        alpha.child?.kill("SIGCONT");
    else if (how === "cut")
        s.cluster.healAll();
    else
        await alpha.relaunch();
}
describe("forced-switch matrix", { timeout: 900_000 }, () => {
    for (const how of ["frozen", "cut", "killed"]) {
        test(`primary ${how}, writes on the new side only: one history, every disk equal`, explainOnFailure(async () => {
            const s = await threeNodes();
            const state = new Map();
            await write(s, "alpha", 300, state);
            await waitUntil(s.cluster, "alpha", s.name, "replicated");
            await fault(s, how);
            await rpc(s, "bravo").call("resource.primary", { name: s.name, force: true });
            await write(s, "bravo", 300, state);
            await heal(s, how);
            await waitUntil(s.cluster, "alpha", s.name, "secondary", 30_000);
            await assertOneHistory(s, "bravo", `${how}, one side`);
            for (const host of HOSTS)
                await assertAcknowledgedPresent(s.disks.get(host), state, `${how}: ${host}`);
        }));
    }
    for (const how of ["frozen", "cut"]) {
        for (const winner of ["bravo", "alpha"]) {
            test(`primary ${how}, writes on both sides: fork reported everywhere, repaired with ${winner} as the winner`, explainOnFailure(async () => {
                const s = await threeNodes();
                const state = new Map();
                await write(s, "alpha", 300, state);
                await waitUntil(s.cluster, "alpha", s.name, "replicated");
                const alphaState = new Map(state);
                let late;
                if (how === "frozen") {
                    // Requests queue on the frozen daemon and are acknowledged after it thaws.
                    late = await writer(s, "alpha", 300, alphaState);
                    await waitFor("the writer on alpha to start", () => late && late.acks > 20);
                    // The freeze must not leave charlie holding more of alpha's file
                    // than bravo: that would put charlie on a fork of its own (the
                    // lagging-failover case below). charlie stops fetching, and alpha
                    // freezes once bravo has applied everything charlie holds.
                    await rpc(s, "charlie").call("resource.pause", { name: s.name, what: "fetch" });
                    await waitFor("bravo to be ahead of charlie", async () => {
                        const c = await status(s.cluster, "charlie", s.name);
                        const b = await status(s.cluster, "bravo", s.name);
                        return c.replay?.lagBytes === 0 && positionAtOrAfter(b.log.applied, c.log.applied);
                    });
                    await fault(s, how);
                }
                else {
                    await fault(s, how);
                    await write(s, "alpha", 300, alphaState);
                }
                const acksAtCut = late?.acks ?? 0;
                await rpc(s, "bravo").call("resource.primary", { name: s.name, force: true });
                if (how === "frozen")
                    await rpc(s, "charlie").call("resource.resume", { name: s.name, what: "fetch" });
                await write(s, "bravo", 300, state);
                await heal(s, how);
                if (late) {
                    await late.exited;
                    for (const [k, v] of late.acked)
                        alphaState.set(k, v);
                }
                await waitUntil(s.cluster, "alpha", s.name, "secondary", 30_000);
                const alphaWroteAfterCut = how === "cut" || (late !== undefined && late.acks > acksAtCut);
                // charlie follows bravo whatever alpha did.
                await waitUntil(s.cluster, "charlie", s.name, "uptodate", 30_000);
                const digests = await diskDigests(s);
                assert.equal(digests.get("charlie"), digests.get("bravo"), `${how}: charlie follows bravo`);
                if (!alphaWroteAfterCut && (await forks(s, "bravo")).length === 0) {
                    await assertOneHistory(s, "bravo", `${how}: alpha acknowledged nothing after the cut`);
                    return;
                }
                for (const host of HOSTS)
                    await waitUntil(s.cluster, host, s.name, "splitbrain", 30_000);
                for (const host of HOSTS)
                    assert.equal((await forks(s, host)).length, 1, `${host} lists one fork`);
                await assertAcknowledgedPresent(s.disks.get("alpha"), alphaState, "alpha keeps its writes");
                await assertAcknowledgedPresent(s.disks.get("bravo"), state, "bravo keeps its writes");
                if (winner === "bravo") {
                    await repair(s, "alpha");
                    await assertOneHistory(s, "bravo", `${how}: repaired, bravo won`);
                }
                else {
                    await rpc(s, "alpha").call("resource.primary", { name: s.name, force: true });
                    await waitUntil(s.cluster, "alpha", s.name, "primary");
                    for (const loser of ["bravo", "charlie"])
                        await repair(s, loser);
                    await assertOneHistory(s, "alpha", `${how}: repaired, alpha won`);
                    await assertAcknowledgedPresent(s.disks.get("charlie"), alphaState, "alpha's writes won");
                }
            }));
        }
    }
    test("failover to a lagging secondary: the more advanced one is on a fork of its own", explainOnFailure(async () => {
        const s = await threeNodes();
        const state = new Map();
        await write(s, "alpha", 200, state);
        await waitUntil(s.cluster, "alpha", s.name, "replicated");
        await rpc(s, "bravo").call("resource.pause", { name: s.name, what: "fetch" });
        await write(s, "alpha", 300, state);
        await waitFor("charlie to apply alpha's newer writes", async () => {
            const a = await status(s.cluster, "alpha", s.name);
            const c = await status(s.cluster, "charlie", s.name);
            return (c.log.applied?.file === a.log.applied?.file &&
                c.log.applied?.offsetBytes === a.log.applied?.offsetBytes);
        });
        await s.cluster.node("alpha").daemon.kill9();
        await rpc(s, "bravo").call("resource.resume", { name: s.name, what: "fetch" });
        await rpc(s, "bravo").call("resource.primary", { name: s.name, force: true });
        const bravoState = new Map(state);
        await write(s, "bravo", 200, bravoState);
        await s.cluster.node("alpha").daemon.relaunch();
        for (const host of HOSTS)
            await waitUntil(s.cluster, host, s.name, "splitbrain", 30_000);
        assert.equal((await status(s.cluster, "charlie", s.name)).replState, "SplitBrain");
        assert.equal((await status(s.cluster, "alpha", s.name)).role, "secondary");
        for (const loser of ["alpha", "charlie"])
            await repair(s, loser);
        await assertOneHistory(s, "bravo", "lagging failover repaired");
    }));
    test("double failover lists both forks and survives a restart of every node", explainOnFailure(async () => {
        const s = await threeNodes();
        const state = new Map();
        await write(s, "alpha", 200, state);
        await waitUntil(s.cluster, "alpha", s.name, "replicated");
        s.cluster.partition("alpha");
        await write(s, "alpha", 100, new Map(state));
        await rpc(s, "bravo").call("resource.primary", { name: s.name, force: true });
        await write(s, "bravo", 200, state);
        // Every write bravo acknowledged is on charlie before bravo is cut off
        // ("uptodate" alone compares with bravo's last published status).
        await waitCaughtUp(s.cluster, "charlie", "bravo", s.name);
        s.cluster.partition("bravo");
        await write(s, "bravo", 100, new Map(state));
        await rpc(s, "charlie").call("resource.primary", { name: s.name, force: true });
        await write(s, "charlie", 200, state);
        s.cluster.healAll();
        await waitFor("charlie to list both forks", async () => (await forks(s, "charlie")).length === 2, 30_000);
        for (const host of ["alpha", "bravo"])
            await waitUntil(s.cluster, host, s.name, "secondary", 30_000);
        for (const n of s.cluster.nodes)
            await n.daemon.kill9();
        for (const n of s.cluster.nodes)
            await n.daemon.relaunch();
        await waitUntil(s.cluster, "charlie", s.name, "primary", 30_000);
        for (const host of HOSTS)
            await waitUntil(s.cluster, host, s.name, "splitbrain", 30_000);
        assert.deepEqual((await forks(s, "charlie")).length, 2);
        for (const host of ["alpha", "bravo"])
            assert.equal((await status(s.cluster, host, s.name)).role, "secondary", host);
        await assertAcknowledgedPresent(s.disks.get("charlie"), state, "charlie");
        for (const loser of ["alpha", "bravo"])
            await repair(s, loser);
        await assertOneHistory(s, "charlie", "double failover repaired");
    }));
    test("a secondary waiting for a frozen primary's answer follows the new primary at once", explainOnFailure(async () => {
        // Requests wait a minute for an answer: only the designation of bravo can end charlie's wait.
        const s = await threeNodes({ peer: { requestTimeoutMs: 60_000 } });
        const state = new Map();
        await write(s, "alpha", 200, state);
        await waitCaughtUp(s.cluster, "charlie", "alpha", s.name);
        await fault(s, "frozen");
        // charlie asks frozen alpha for its log again, and waits for an answer that never comes.
        await rpc(s, "charlie").call("resource.pause", { name: s.name, what: "fetch" });
        await rpc(s, "charlie").call("resource.resume", { name: s.name, what: "fetch" });
        await waitFor("charlie to wait for alpha's answer", async () => (await status(s.cluster, "charlie", s.name)).fetch?.state === "connecting");
        await rpc(s, "bravo").call("resource.primary", { name: s.name, force: true });
        await write(s, "bravo", 200, state);
        const started = Date.now();
        await waitCaughtUp(s.cluster, "charlie", "bravo", s.name, 20_000);
        console.log(`# charlie followed bravo ${Date.now() - started} ms after bravo's writes`);
        await heal(s, "frozen");
    }));
});
//# sourceMappingURL=failover-matrix.test.js.map
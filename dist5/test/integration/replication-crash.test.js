/**
 * Crashes during replication (kill -9 of real daemons):
 * - a secondary killed in the middle of fetching, and in the middle of
 *   replaying, resumes where it stopped and ends identical to the primary;
 * - a primary killed right behind an acknowledgement comes back as primary
 *   (its role is in the cluster state), has every acknowledged write, and
 *   its secondary follows it again.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { diskDigests, nbdUri, startReplicated, status, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { requireTool, run, requirePythonNbd } from "../helpers/tools.js";
import { blockVersion } from "../helpers/versioned-blocks.js";
import { seededRandom } from "../../src/platform/random.js";
const MIB = 1024 * 1024;
async function counter(url, name) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{resource="r0"}`));
    return line ? Number(line.split(" ").pop()) : 0;
}
describe("crashes during replication", { timeout: 600_000 }, () => {
    let setup;
    let nbdcopy = "";
    before(async () => {
        nbdcopy = requireTool("nbdcopy");
        await requirePythonNbd();
        setup = await startReplicated({
            hosts: ["node-a", "node-b"],
            sizeBytes: 96 * MIB,
            config: {
                log: { rotateBytes: 8 * MIB },
                jobs: { logRotate: "", logDelete: "" },
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000, chunkBytes: 256 * 1024 },
            },
        });
    });
    after(async () => setup?.cluster.cleanup());
    test("a secondary killed mid-fetch resumes the transfer and catches up", async () => {
        const b = setup.cluster.node("node-b").daemon;
        // A slow link keeps the transfer in progress long enough to kill it in the middle.
        setup.cluster.proxy("node-b", "node-a").set({ bandwidthBytesPerSec: 4 * MIB });
        setup.cluster.proxy("node-a", "node-b").set({ bandwidthBytesPerSec: 4 * MIB });
        const data = path.join(setup.cluster.baseDir, "burst.bin");
        // Incompressible bytes; their content does not matter, so a fixed seed.
        await writeFile(data, seededRandom(61).bytes(40 * MIB));
        await run(nbdcopy, [data, nbdUri(setup.cluster, "node-a", "r0")], { timeoutMs: 120_000 });
        const fetchedBefore = await counter(b.adminUrl, "marsd_replication_fetched_bytes_total");
        await waitFor("the fetch to be under way", async () => (await counter(b.adminUrl, "marsd_replication_fetched_bytes_total")) > fetchedBefore + 8 * MIB);
        await b.kill9();
        setup.cluster.healAll();
        await b.relaunch();
        await waitCaughtUp(setup.cluster, "node-b", "node-a", "r0", 120_000);
        assert.equal(new Set((await diskDigests(setup)).values()).size, 1);
    });
    test("a secondary killed mid-replay re-applies from its checkpoint and catches up", async () => {
        const b = setup.cluster.node("node-b").daemon;
        await b.rpc.call("resource.pause", { name: "r0", what: "replay" });
        const data = path.join(setup.cluster.baseDir, "burst2.bin");
        await writeFile(data, seededRandom(62).bytes(48 * MIB));
        await run(nbdcopy, [data, nbdUri(setup.cluster, "node-a", "r0")], { timeoutMs: 120_000 });
        await waitFor("everything fetched", async () => {
            const s = await b.rpc.call("resource.status", { name: "r0" });
            return s.fetch?.lagBytes === 0 && (s.replay?.lagBytes ?? 0) > 40 * MIB;
        });
        const replayedBefore = await counter(b.adminUrl, "marsd_replication_replayed_bytes_total");
        await b.rpc.call("resource.resume", { name: "r0", what: "replay" });
        await waitFor("the replay to be under way", async () => (await counter(b.adminUrl, "marsd_replication_replayed_bytes_total")) > replayedBefore + 4 * MIB, 60_000, 5);
        await b.kill9();
        await b.relaunch();
        assert.equal((await status(setup.cluster, "node-b", "r0")).paused.replay, false, "the resumed replay stays resumed");
        await waitCaughtUp(setup.cluster, "node-b", "node-a", "r0", 120_000);
        assert.equal(new Set((await diskDigests(setup)).values()).size, 1);
    });
    test("a primary killed mid-write loses no acknowledged write and stays primary", async () => {
        const a = setup.cluster.node("node-a").daemon;
        const pid = a.child?.pid;
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: 2048,
            depth: 16,
            seed: 31,
            stateFile: path.join(setup.cluster.baseDir, "crash-state.json"),
            killPid: pid,
            killAtAck: 1500,
        });
        await writer.exited;
        await a.waitExit();
        assert.ok(writer.acks >= 1500, `the writer saw ${writer.acks} acknowledgements`);
        await a.relaunch();
        // It exports again once it has heard node-b since its start (the
        // designation could have moved while it was down).
        await waitUntil(setup.cluster, "node-a", "r0", "primary", 30_000);
        const s = await status(setup.cluster, "node-a", "r0");
        assert.equal(s.role, "primary", "the role comes back from the cluster state");
        const image = await readFile(setup.disks.get("node-a"));
        for (const [block, version] of writer.acked) {
            const v = blockVersion(image, block);
            assert.ok(typeof v === "number" && v >= version, `block ${block}: ${String(v)} < acknowledged ${version}`);
        }
        await waitCaughtUp(setup.cluster, "node-b", "node-a", "r0", 120_000);
        assert.equal(new Set((await diskDigests(setup)).values()).size, 1);
    });
});
//# sourceMappingURL=replication-crash.test.js.map
/**
 * kill -9 of a secondary, again and again, at the moments its crash
 * safety depends on: while it fetches, while it replays, right at a file
 * switch (the primary rotated and the secondary moves to the next file),
 * and during a full sync. After every restart it must be running (not
 * `failed`), resume by itself (a full sync continues from its saved
 * progress, it does not start over) and end with the primary's disk,
 * byte for byte. The primary keeps every acknowledged write throughout.
 *
 * MARSD_CRASH_CYCLES (default 10) and MARSD_CRASH_SEED replay a run; the
 * seed is in the test's name.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { GiveUp, waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { prng } from "../helpers/prng.js";
import { diskDigests, nbdUri, resourceDirOf, startReplicated, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { seededRandom } from "../../src/platform/random.js";
const MIB = 1024 * 1024;
const BLOCKS = 4096;
const SIZE_BYTES = 32 * MIB;
const CYCLES = Number(process.env.MARSD_CRASH_CYCLES ?? 10);
const SEED = Number(process.env.MARSD_CRASH_SEED ?? Date.now() % 1_000_000);
const MOMENTS = ["fetching", "replaying", "file-switch", "full-sync"];
async function counter(url, name) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{resource="r0"}`));
    return line ? Number(line.split(" ").pop()) : 0;
}
/** Every moment at least once (if the run has that many cycles), in a seeded order. */
function schedule(random, cycles) {
    const out = [];
    while (out.length < cycles) {
        const round = [...MOMENTS];
        for (let i = round.length - 1; i > 0; i--) {
            const j = Math.floor(random() * (i + 1));
            [round[i], round[j]] = [round[j], round[i]];
        }
        out.push(...round);
    }
    return out.slice(0, cycles);
}
describe("crash safety: kill -9 of a secondary", { timeout: 3_600_000 }, () => {
    let setup;
    /** Versions on the primary's disk, per block (the pattern writer continues from them). */
    const versions = new Map();
    let ackedChecked = 0;
    before(async () => {
        await requirePythonNbd();
        setup = await startReplicated({
            hosts: ["node-a", "node-b"],
            sizeBytes: SIZE_BYTES,
            config: {
                // Small files, preallocation on: the secondary crosses files in every cycle.
                log: { rotateBytes: MIB, preallocateBytes: 256 * 1024, checkpointIntervalMs: 50 },
                jobs: { logRotate: "", logDelete: "" },
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 1000, chunkBytes: 256 * 1024 },
            },
        });
    });
    after(async () => setup?.cluster.cleanup());
    const a = () => setup.cluster.node("node-a").daemon;
    const b = () => setup.cluster.node("node-b").daemon;
    const detail = (host) => setup.cluster.node(host).daemon.rpc.call("resource.status", { name: "r0" });
    const throttle = (bytesPerSec) => {
        setup.cluster.proxy("node-b", "node-a").set({ bandwidthBytesPerSec: bytesPerSec });
        setup.cluster.proxy("node-a", "node-b").set({ bandwidthBytesPerSec: bytesPerSec });
    };
    async function write(seed, maxWrites, depth = 8) {
        return startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", "r0"),
            blocks: BLOCKS,
            depth,
            seed,
            stateFile: path.join(setup.cluster.baseDir, `writer-${seed}.json`),
            initialState: versions,
            maxWrites,
        });
    }
    async function finishWriter(writer, context) {
        assert.equal(await writer.exited, 0, `writer (${context}): ${writer.stderr()}`);
        for (const [block, version] of writer.acked)
            versions.set(block, version);
        ackedChecked += writer.acks;
        // A write is acknowledged once durable in the log and reaches the disk just
        // after (in the background): give the apply a moment before reading the disk.
        await waitFor("the primary's disk to hold every acknowledged write", () => assertAcknowledgedPresent(setup.disks.get("node-a"), writer.acked, "primary").then(() => true, () => false), 10_000, 50).catch(() => undefined);
        await assertAcknowledgedPresent(setup.disks.get("node-a"), writer.acked, `primary (${context})`);
    }
    it(`resumes and converges after kill -9 at every moment, ${CYCLES} cycles (seed ${SEED})`, explainOnFailure(runCycles));
    async function runCycles() {
        const random = prng(SEED);
        const moments = schedule(random, CYCLES);
        const seen = new Map();
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const moment = moments[cycle - 1];
            const context = `seed ${SEED}, cycle ${cycle}, ${moment}`;
            const writerSeed = Math.floor(random() * 1e9);
            let savedSyncBytes = 0;
            let writer;
            const startFile = (await detail("node-a")).log.currentFile;
            if (moment === "fetching") {
                throttle(2 * MIB);
                writer = await write(writerSeed, 1500 + Math.floor(random() * 1000));
                const before = await counter(b().adminUrl, "marsd_replication_fetched_bytes_total");
                const killAt = before + 256 * 1024 + Math.floor(random() * 2 * MIB);
                await waitFor(`node-b to fetch (${context})`, async () => (await counter(b().adminUrl, "marsd_replication_fetched_bytes_total")) >= killAt, 60_000, 5);
                await b().kill9();
            }
            else if (moment === "replaying") {
                await b().rpc.call("resource.pause", { name: "r0", what: "replay" });
                writer = await write(writerSeed, 1000 + Math.floor(random() * 1000), 16);
                await finishWriter(writer, context);
                writer = undefined;
                await waitFor(`everything fetched (${context})`, async () => {
                    const s = await detail("node-b");
                    return s.fetch?.lagBytes === 0 && (s.replay?.lagBytes ?? 0) > MIB;
                }, 60_000);
                const before = await counter(b().adminUrl, "marsd_replication_replayed_bytes_total");
                const killAt = before + 64 * 1024 + Math.floor(random() * MIB);
                await b().rpc.call("resource.resume", { name: "r0", what: "replay" });
                await waitFor(`the replay to be under way (${context})`, async () => (await counter(b().adminUrl, "marsd_replication_replayed_bytes_total")) >= killAt, 60_000, 2);
                await b().kill9();
            }
            else if (moment === "file-switch") {
                writer = await write(writerSeed, 600 + Math.floor(random() * 600));
                await waitFor(`some writes (${context})`, () => (writer?.acks ?? 0) >= 100);
                await a().rpc.call("resource.logRotate", { name: "r0" });
                const next = (await detail("node-a")).log.currentFile;
                assert.ok(next && next !== startFile, `the primary rotated (${context})`);
                // Kill the secondary the moment it switches: its fetcher, or (every other time) its replayer, reaches the new file.
                const byReplay = random() < 0.5;
                await waitFor(`node-b to switch to ${next} (${context})`, async () => {
                    const s = await detail("node-b");
                    return byReplay ? s.log.applied?.file === next : s.fetch?.file === next;
                }, 60_000, 2);
                await b().kill9();
            }
            else {
                // Leave and join again with a disk full of other bytes: a full sync of all of it.
                await b().rpc.call("resource.leave", { name: "r0" });
                await writeFile(setup.disks.get("node-b"), seededRandom(SEED + 1).bytes(SIZE_BYTES));
                throttle(MIB);
                await b().rpc.call("resource.join", { name: "r0", disk: setup.disks.get("node-b") });
                writer = await write(writerSeed, 300 + Math.floor(random() * 300), 4);
                const killAt = MIB + Math.floor(random() * 6 * MIB);
                const syncFile = path.join(resourceDirOf(setup.cluster, "node-b", "r0"), "sync.json");
                await waitFor(`the full sync to pass ${killAt} bytes (${context})`, async () => {
                    const saved = JSON.parse(await readFile(syncFile, "utf8"));
                    if (saved.state !== "syncing")
                        throw new GiveUp(`the sync ended before the kill (${context})`);
                    return saved.doneBytes >= killAt ? saved : undefined;
                }, 120_000, 5);
                savedSyncBytes = JSON.parse(await readFile(syncFile, "utf8")).doneBytes;
                await b().kill9();
            }
            seen.set(moment, (seen.get(moment) ?? 0) + 1);
            await b().relaunch();
            const restarted = await waitFor(`node-b to run again (${context})`, async () => {
                const s = await detail("node-b");
                if (s.state === "failed")
                    throw new Error(`node-b is failed after restart: ${s.error} (${context})`);
                return s.state === "running" ? s : undefined;
            });
            if (moment === "full-sync") {
                assert.ok(savedSyncBytes > 0);
                // The sync resumes from what it had saved (the status shows the saved progress until the next window).
                if (restarted.sync) {
                    assert.ok(restarted.sync.doneBytes >= savedSyncBytes, `the full sync started over: ${restarted.sync.doneBytes} < ${savedSyncBytes} saved (${context})`);
                }
            }
            if (writer)
                await finishWriter(writer, context);
            setup.cluster.healAll();
            if (moment === "full-sync") {
                // A replica becomes consistent when a replay event finds it past the sync end, and
                // the applier's last, deferred advance raises none (Resource.progressed only runs on
                // fetch and replay events): keep writing a little until one comes after it.
                const tail = await write(Math.floor(random() * 1e9), 20);
                await finishWriter(tail, context);
                await waitFor(`node-b consistent (${context})`, async () => {
                    if ((await detail("node-b")).consistent)
                        return true;
                    await finishWriter(await write(Math.floor(random() * 1e9), 5, 1), context);
                    return false;
                }, 120_000, 200);
            }
            await waitUntil(setup.cluster, "node-b", "r0", "uptodate", 180_000);
            await waitCaughtUp(setup.cluster, "node-b", "node-a", "r0", 120_000);
            const s = await detail("node-b");
            assert.notEqual(s.state, "failed", context);
            const endFile = (await detail("node-a")).log.currentFile;
            assert.notEqual(endFile, startFile, `the cycle crossed a log file (${context})`);
            const digests = await diskDigests(setup);
            assert.equal(new Set(digests.values()).size, 1, `disks differ (${context}): ${JSON.stringify([...digests])}`);
        }
        console.log(`secondary crash test: seed ${SEED}, ${CYCLES} cycles (${[...seen].map(([m, n]) => `${m} ${n}`).join(", ")}), ${ackedChecked} acknowledged writes checked, 0 lost`);
    }
});
//# sourceMappingURL=secondary-crash.test.js.map
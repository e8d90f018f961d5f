/**
 * The dirty-region map (src/resource/dirty-map.ts) on real files, through
 * FaultyStorage where a test counts IO or injects EIO, and on SimStorage
 * for power losses that keep only synced data (torn sectors included).
 *
 * The power-loss test is seeded: MARSD_TEST_SEED=<seed> replays it (the
 * seed is in its name), MARSD_DIRTY_MAP_CASE=<case seed> replays the one
 * case a failure names.
 */
import assert from "node:assert/strict";
import { mkdir, open as openFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { systemClock } from "../../../src/platform/clock.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { DIRTY_MAP_BLOCK_BYTES, DIRTY_MAP_REGIONS_PER_BLOCK, DirtyMap, DirtyMapFailedError, DirtyMapHeaderError, dirtyMapGranularityProblem, } from "../../../src/resource/dirty-map.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { prng } from "../../helpers/prng.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { drainMicrotasks } from "../../sim/sim-clock.js";
import { SimStorage } from "../../sim/sim-storage.js";
const KiB = 1024;
const MiB = 1024 * KiB;
const SEED = Number(process.env.MARSD_TEST_SEED ?? systemClock.nowMs() % 1_000_000);
const CASES = Number(process.env.MARSD_DIRTY_MAP_CASES ?? 40);
function recorder() {
    const r = {
        flushedBytes: [],
        corruptBlocks: [],
        failures: [],
        observer: {
            flushed: (bytes) => r.flushedBytes.push(bytes),
            corruptBlock: (info) => r.corruptBlocks.push(info.blockIndex),
            failed: (err) => r.failures.push(err),
        },
    };
    return r;
}
/** Observes a promise without awaiting it. */
function track(p) {
    const state = { settled: false, error: undefined };
    p.then(() => (state.settled = true), (err) => Object.assign(state, { settled: true, error: err }));
    return state;
}
/** A few event-loop turns: enough for anything not waiting on IO to happen. */
async function turns(n = 5) {
    for (let i = 0; i < n; i++)
        await drainMicrotasks();
}
/** Flips one byte of a file (bit rot). */
async function flipByte(file, positionBytes) {
    const handle = await openFile(file, "r+");
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, positionBytes);
    one[0] = one[0] ^ 0x5a;
    await handle.write(one, 0, 1, positionBytes);
    await handle.close();
}
describe("DirtyMap", () => {
    let dir;
    let n = 0;
    let file;
    before(async () => (dir = await makeTempDir("marsd-dirty-map-")));
    after(() => dir.remove());
    const nextFile = () => (file = dir.join(`maps-${++n}`, "dirty.map"));
    const counting = (plan = {}) => new FaultyStorage({ match: (p) => p === file, ...plan });
    const open = (storage, diskBytes, granularityBytes, observer) => DirtyMap.open(storage, file, { diskBytes, granularityBytes, time: systemClock, observer });
    it("creates a clean map of the bounded size and keeps its bits across a reopen", async () => {
        nextFile();
        const g = 64 * KiB;
        const diskBytes = 3 * DIRTY_MAP_REGIONS_PER_BLOCK * g - 5 * g + 1234;
        // What a crash in the middle of creating it leaves: a temporary copy, never renamed.
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(path.join(path.dirname(file), ".tmp.dirty.map.0"), "partial");
        const map = await open(nodeStorage, diskBytes, g);
        assert.deepEqual(await readdir(path.dirname(file)), ["dirty.map"]);
        assert.equal(map.mapBytes, 4 * DIRTY_MAP_BLOCK_BYTES);
        assert.equal((await stat(file)).size, map.mapBytes);
        assert.deepEqual(map.regions(), []);
        assert.equal(map.dirtyBytes, 0);
        await map.mark(10, 1);
        await map.markRanges([
            { offsetBytes: DIRTY_MAP_REGIONS_PER_BLOCK * g + 5, lengthBytes: 2 * g },
            { offsetBytes: diskBytes - 1, lengthBytes: 1 },
        ]);
        const regions = map.regions();
        const dirtyBytes = map.dirtyBytes;
        await map.close();
        const again = await open(nodeStorage, diskBytes, g);
        assert.deepEqual(again.regions(), regions);
        assert.deepEqual(regions, [
            { offsetBytes: 0, lengthBytes: g },
            { offsetBytes: DIRTY_MAP_REGIONS_PER_BLOCK * g, lengthBytes: 3 * g },
            { offsetBytes: diskBytes - 1234, lengthBytes: 1234 },
        ]);
        assert.equal(again.dirtyBytes, dirtyBytes);
        assert.equal(dirtyBytes, 4 * g + 1234);
        await again.close();
        await assert.rejects(again.mark(0, 1), { code: "CLOSED" });
    });
    it("merges adjacent regions and clips the last one to a disk that is not a multiple of the granularity", async () => {
        nextFile();
        const g = 4 * KiB;
        const diskBytes = 5 * g + 100;
        const map = await open(nodeStorage, diskBytes, g);
        await Promise.all([map.mark(0, 1), map.mark(g, g), map.mark(4 * g + 7, 10), map.mark(5 * g, 100)]);
        assert.deepEqual(map.regions(), [
            { offsetBytes: 0, lengthBytes: 2 * g },
            { offsetBytes: 4 * g, lengthBytes: g + 100 },
        ]);
        assert.equal(map.dirtyBytes, 3 * g + 100);
        assert.equal(map.isDirty(0, 2 * g), true);
        assert.equal(map.isDirty(g, 2 * g), false);
        assert.equal(map.isDirty(4 * g, g + 100), true);
        assert.throws(() => map.isDirty(diskBytes, 1), { code: "OUT_OF_RANGE" });
        await assert.rejects(map.mark(diskBytes - 1, 2), { code: "OUT_OF_RANGE" });
        await assert.rejects(map.mark(-1, 1), { code: "OUT_OF_RANGE" });
        await map.close();
    });
    it("commits concurrent marks together: one datasync for one turn's marks, the next for marks made during it", async () => {
        nextFile();
        const storage = counting();
        const g = 4 * KiB;
        const blocks = 16;
        const map = await open(storage, 2 * blocks * DIRTY_MAP_REGIONS_PER_BLOCK * g, g);
        const blockBytes = DIRTY_MAP_REGIONS_PER_BLOCK * g;
        // One mark in every other block (no two adjacent): 16 blocks, one flush.
        await Promise.all(Array.from({ length: blocks }, (_, i) => map.mark(2 * i * blockBytes + i * g, 1)));
        assert.equal(storage.calls.datasync, 1);
        assert.equal(storage.calls.writev, blocks, "FaultyStorage writes a range per writev");
        // Hold the next flush at its datasync; marks made meanwhile wait for the flush that carries them.
        const gate = new Gate();
        storage.plan.beforeOp = (op) => (op === "datasync" ? gate.wait() : undefined);
        const first = track(map.mark(blockBytes + 5 * g, 1));
        await waitFor("the first flush at its datasync", () => gate.waiting === 1);
        const sameBit = track(map.mark(blockBytes + 5 * g, 10));
        const otherBlock = track(map.mark(3 * blockBytes + 7 * g, 1));
        await turns();
        assert.deepEqual([first.settled, sameBit.settled, otherBlock.settled], [false, false, false]);
        storage.plan.beforeOp = undefined;
        gate.open();
        await waitFor("all marks durable", () => first.settled && sameBit.settled && otherBlock.settled);
        assert.equal(storage.calls.datasync, 3, "the held flush, then one for the marks made during it");
        assert.deepEqual([first.error, sameBit.error, otherBlock.error], [undefined, undefined, undefined]);
        await map.close();
    });
    it("resolves markRanges once every range is durable, when they are in different flushes", async () => {
        nextFile();
        const storage = counting();
        const g = 4 * KiB;
        const map = await open(storage, 4 * DIRTY_MAP_REGIONS_PER_BLOCK * g, g);
        const held = new Map([
            [2, new Gate()],
            [3, new Gate()],
        ]);
        storage.plan.beforeOp = (op, _path, n) => (op === "datasync" ? held.get(n)?.wait() : undefined);
        const first = track(map.mark(0, 1));
        await waitFor("flush 1 done", () => first.settled);
        const inFlight = track(map.mark(g, 1));
        await waitFor("flush 2 at its datasync", () => held.get(2).waiting === 1);
        // Region 1 rides in flush 2, region 2 * 32736 needs flush 3.
        const both = track(map.markRanges([
            { offsetBytes: g, lengthBytes: 1 },
            { offsetBytes: 2 * DIRTY_MAP_REGIONS_PER_BLOCK * g, lengthBytes: 1 },
        ]));
        held.get(2).open();
        await waitFor("flush 3 at its datasync", () => inFlight.settled && held.get(3).waiting === 1);
        await turns();
        assert.equal(both.settled, false, "the second range is not durable before flush 3");
        held.get(3).open();
        await waitFor("flush 3 done", () => both.settled);
        assert.equal(both.error, undefined);
        assert.equal(storage.calls.datasync, 3);
        await map.close();
    });
    it("resolves a mark of durable regions without IO", async () => {
        nextFile();
        const storage = counting();
        const g = 1 * MiB;
        const map = await open(storage, 64 * g, g);
        await map.mark(3 * g, 4 * g);
        const calls = { ...storage.calls };
        const fast = map.mark(3 * g + 17, 100);
        for (let i = 0; i < 10_000; i++) {
            assert.equal(map.mark(3 * g + ((i * 4096) % (4 * g - 4096)), 4096), fast, "one shared resolved promise");
        }
        await fast;
        await turns();
        assert.deepEqual(storage.calls, calls);
        await map.close();
    });
    it("fails for good on a failed datasync: every waiter and every later call rejects, nothing is retried", async () => {
        nextFile();
        const storage = counting({ failDatasyncFrom: 2 });
        const g = 4 * KiB;
        const events = recorder();
        const map = await open(storage, 4 * DIRTY_MAP_REGIONS_PER_BLOCK * g, g, events.observer);
        await map.mark(0, g);
        const waiters = [map.mark(g, 1), map.mark(DIRTY_MAP_REGIONS_PER_BLOCK * g, 1), map.mark(g, 7)];
        for (const w of waiters) {
            await assert.rejects(w, (err) => {
                assert.ok(err instanceof DirtyMapFailedError);
                assert.equal(err.code, "DIRTY_MAP_FAILED");
                assert.equal(err.cause.code, "EIO");
                return true;
            });
        }
        assert.equal(storage.calls.datasync, 2);
        // Even a range that is durable: the owner must notice and reopen.
        await assert.rejects(map.mark(0, 1), DirtyMapFailedError);
        await assert.rejects(map.mark(5 * g, 1), DirtyMapFailedError);
        await assert.rejects(map.clear(), DirtyMapFailedError);
        await turns();
        assert.equal(storage.callsAfterFailure, 0, "no write or datasync after the failure");
        assert.equal(events.failures.length, 1);
        assert.equal(map.failedWith, events.failures[0]);
        await map.close();
        const reopened = await open(nodeStorage, 4 * DIRTY_MAP_REGIONS_PER_BLOCK * g, g);
        assert.equal(reopened.isDirty(0, g), true, "what was acknowledged survives");
        await reopened.close();
    });
    it("fails on a failed write without syncing", async () => {
        nextFile();
        const storage = counting({ failWritevFrom: 1 });
        const map = await open(storage, 100 * MiB, MiB);
        await assert.rejects(map.mark(0, 1), (err) => {
            assert.equal(err.code, "DIRTY_MAP_FAILED");
            assert.equal(err.cause.code, "EIO");
            return true;
        });
        await assert.rejects(map.mark(0, 1), { code: "DIRTY_MAP_FAILED" });
        assert.equal(storage.calls.datasync, 0);
        assert.equal(storage.callsAfterFailure, 0);
        await map.close();
    });
    it("reads a block that fails its CRC (bit rot) as all dirty, keeps the other blocks, and rewrites it", async () => {
        nextFile();
        const g = 4 * KiB;
        const perBlock = DIRTY_MAP_REGIONS_PER_BLOCK;
        const diskBytes = 3 * perBlock * g;
        const map = await open(nodeStorage, diskBytes, g);
        await map.markRanges([0, 1, 2].map((b) => ({ offsetBytes: (b * perBlock + 100) * g, lengthBytes: g })));
        await map.close();
        await flipByte(file, 2 * DIRTY_MAP_BLOCK_BYTES + 2000); // block 1 (after the header and block 0)
        const events = recorder();
        const reopened = await open(nodeStorage, diskBytes, g, events.observer);
        assert.deepEqual(events.corruptBlocks, [1]);
        assert.deepEqual(reopened.regions(), [
            { offsetBytes: 100 * g, lengthBytes: g },
            { offsetBytes: perBlock * g, lengthBytes: perBlock * g },
            { offsetBytes: (2 * perBlock + 100) * g, lengthBytes: g },
        ]);
        assert.equal(events.flushedBytes.length, 1, "the block was rewritten at open");
        await reopened.close();
        const healed = recorder();
        const third = await open(nodeStorage, diskBytes, g, healed.observer);
        assert.deepEqual(healed.corruptBlocks, []);
        assert.equal(third.dirtyBytes, (perBlock + 2) * g);
        await third.close();
    });
    it("reads a torn block write as all dirty for that block", async () => {
        nextFile();
        const g = 4 * KiB;
        const perBlock = DIRTY_MAP_REGIONS_PER_BLOCK;
        const diskBytes = 2 * perBlock * g + 3 * g;
        // The second writev of the map (the second flush) writes its first 512 bytes, then fails.
        const storage = counting({ tearWritev: { at: 2, keepBytes: 512 } });
        const map = await open(storage, diskBytes, g);
        await map.mark(0, g);
        await assert.rejects(map.mark(30_000 * g, g), { code: "DIRTY_MAP_FAILED" });
        await map.close();
        const events = recorder();
        const reopened = await open(nodeStorage, diskBytes, g, events.observer);
        assert.deepEqual(events.corruptBlocks, [0]);
        assert.deepEqual(reopened.regions(), [{ offsetBytes: 0, lengthBytes: perBlock * g }]);
        await reopened.close();
    });
    it("refuses a damaged or mismatching header with a typed error", async () => {
        nextFile();
        const g = 64 * KiB;
        await (await open(nodeStorage, 10 * MiB, g)).close();
        const refused = (reason) => (err) => {
            assert.ok(err instanceof DirtyMapHeaderError, String(err));
            assert.equal(err.code, "FILE_MALFORMED");
            assert.equal(err.reason, reason);
            return true;
        };
        await assert.rejects(open(nodeStorage, 10 * MiB, 128 * KiB), refused("geometry"));
        await assert.rejects(open(nodeStorage, 11 * MiB, g), refused("geometry"));
        await flipByte(file, 20);
        await assert.rejects(open(nodeStorage, 10 * MiB, g), refused("checksum"));
        await flipByte(file, 20);
        await (await open(nodeStorage, 10 * MiB, g)).close();
        await truncate(file, DIRTY_MAP_BLOCK_BYTES);
        await assert.rejects(open(nodeStorage, 10 * MiB, g), refused("size"));
    });
    it("clears only the regions wholly inside a range (the disk end closes the last one), durably", async () => {
        nextFile();
        const storage = counting();
        const g = 4 * KiB;
        const diskBytes = 10 * g + g / 2;
        const map = await open(storage, diskBytes, g);
        await map.mark(0, diskBytes);
        await map.clearRange(g / 2, 3 * g);
        assert.deepEqual(map.regions(), [
            { offsetBytes: 0, lengthBytes: g },
            { offsetBytes: 3 * g, lengthBytes: 7 * g + g / 2 },
        ]);
        await map.clearRange(10 * g + 1, g / 2 - 1); // part of the last region only
        assert.equal(map.isDirty(10 * g, g / 2), true);
        await map.clearRange(9 * g, g + g / 2);
        assert.deepEqual(map.regions(), [
            { offsetBytes: 0, lengthBytes: g },
            { offsetBytes: 3 * g, lengthBytes: 6 * g },
        ]);
        const syncs = storage.calls.datasync;
        await map.mark(9 * g, 1); // cleared, so no longer durably set: this costs a flush again
        assert.equal(storage.calls.datasync, syncs + 1);
        await map.close();
        const reopened = await open(nodeStorage, diskBytes, g);
        assert.deepEqual(reopened.regions(), [
            { offsetBytes: 0, lengthBytes: g },
            { offsetBytes: 3 * g, lengthBytes: 7 * g },
        ]);
        await reopened.clear();
        assert.equal(reopened.dirtyBytes, 0);
        await reopened.close();
        const cleared = await open(nodeStorage, diskBytes, g);
        assert.deepEqual(cleared.regions(), []);
        await cleared.close();
    });
    it("a mark made again after a clear waits for the flush that writes it, wherever the clear's flush is", async () => {
        nextFile();
        const storage = counting();
        const g = 4 * KiB;
        const map = await open(storage, 100 * g, g);
        // The 3rd and 4th datasyncs wait at gates.
        const held = new Map([
            [3, new Gate()],
            [4, new Gate()],
        ]);
        storage.plan.beforeOp = (op, _path, n) => (op === "datasync" ? held.get(n)?.wait() : undefined);
        // Marked again while the clear waits for its flush, which has not started.
        await map.mark(3 * g, 1);
        const cleared = map.clearRange(3 * g, g);
        const again = map.mark(3 * g, 1);
        await Promise.all([cleared, again]);
        // Flush 3 sets 5 and 6; a clear of both and a mark of 5 go into flush 4; 6 is marked again
        // after flush 3 ended, while flush 4 (which writes it clear) runs: it must wait for flush 5.
        const marked = track(map.mark(5 * g, 1));
        const markedToo = track(map.mark(6 * g, 1));
        await waitFor("flush 3 at its datasync", () => held.get(3).waiting === 1);
        const clearedBoth = track(map.clearRange(5 * g, 2 * g));
        const duringFlush = track(map.mark(5 * g, 1));
        held.get(3).open();
        await waitFor("flush 4 at its datasync", () => marked.settled && held.get(4).waiting === 1);
        const afterFlush = track(map.mark(6 * g, 1));
        await turns();
        assert.equal(afterFlush.settled, false, "6 is not durably set: flush 4 writes it clear");
        held.get(4).open();
        await waitFor("all durable", () => clearedBoth.settled && duringFlush.settled && afterFlush.settled);
        assert.ok(markedToo.settled);
        assert.equal(storage.calls.datasync, 5);
        await map.close();
        const reopened = await open(nodeStorage, 100 * g, g);
        assert.deepEqual(reopened.regions(), [
            { offsetBytes: 3 * g, lengthBytes: g },
            { offsetBytes: 5 * g, lengthBytes: 2 * g },
        ]);
        await reopened.close();
    });
    it("bounds the map: a 2 TiB disk at 1 MiB is a 264 KiB file", async () => {
        nextFile();
        const diskBytes = 2 * 1024 * 1024 * MiB;
        const map = await open(nodeStorage, diskBytes, MiB);
        // 2^21 regions in blocks of 32736: 65 blocks, plus the header.
        assert.equal(map.regionCount, 2 ** 21);
        assert.equal(map.mapBytes, 66 * 4096);
        assert.equal((await stat(file)).size, 270_336);
        await map.mark(diskBytes - 1, 1);
        await map.close();
        const reopened = await open(nodeStorage, diskBytes, MiB);
        assert.deepEqual(reopened.regions(), [{ offsetBytes: diskBytes - MiB, lengthBytes: MiB }]);
        assert.equal(reopened.dirtyBytes, MiB);
        await reopened.close();
    });
    it("accepts only power-of-two granularities from 4 KiB to 64 MiB", async () => {
        nextFile();
        for (const bad of [0, 2048, 3000, 12 * KiB, 128 * MiB, 1.5]) {
            assert.ok(dirtyMapGranularityProblem(bad), String(bad));
            await assert.rejects(open(nodeStorage, 100 * MiB, bad), { code: "INTERNAL" });
        }
        for (const good of [4 * KiB, 64 * KiB, MiB, 64 * MiB])
            assert.equal(dirtyMapGranularityProblem(good), undefined);
    });
});
/** Regions first..last (inclusive) that clearRange clears: those wholly inside the range. */
function clearedRegions(offsetBytes, lengthBytes, g, diskBytes) {
    const end = offsetBytes + lengthBytes;
    const first = Math.ceil(offsetBytes / g);
    const last = (end === diskBytes ? Math.ceil(diskBytes / g) : Math.floor(end / g)) - 1;
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}
function coveredRegions(r, g) {
    if (r.lengthBytes === 0)
        return [];
    const first = Math.floor(r.offsetBytes / g);
    const last = Math.floor((r.offsetBytes + r.lengthBytes - 1) / g);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
/**
 * One case: random marks and clears, power lost at a seeded operation
 * (any-sectors or last-write tearing of what was not synced), reopened
 * from what the disk kept. Every region whose mark resolved (and that no
 * clear issued later covers) must be dirty; a region never marked must be
 * clean unless its block was reported corrupt.
 */
async function powerLossCase(seed) {
    const random = prng(seed);
    const below = (n) => Math.floor(random() * n);
    const g = 4 * KiB * 2 ** below(4);
    // Half the cases on a small disk, where marks and clears keep hitting the same regions.
    const regionCount = 1 + below(random() < 0.5 ? 64 : 3 * DIRTY_MAP_REGIONS_PER_BLOCK);
    const diskBytes = (regionCount - 1) * g + 1 + below(g);
    const tear = ["none", "last-write", "any-sectors"][below(3)];
    const mapPath = "/var/lib/marsd/r0/dirty.map";
    const options = { diskBytes, granularityBytes: g, time: systemClock };
    let storage = new SimStorage({ seed, tear });
    await storage.makeDirectory("/var/lib");
    await storage.syncDirectory("/var");
    await storage.syncDirectory("/");
    const epoch = new Uint32Array(regionCount);
    const required = new Uint8Array(regionCount);
    const mayBeDirty = new Uint8Array(regionCount);
    const at = `seed ${seed} (${regionCount} regions of ${g}, tear ${tear})`;
    for (let round = 0; round < 3; round++) {
        let crashed;
        storage.crashAtOperation(storage.operations + 1 + below(60), (next) => (crashed = next));
        let finished = false;
        let failure;
        const workload = async () => {
            const map = await DirtyMap.open(storage, mapPath, options);
            const issued = [];
            // The process dies with the power: it issues nothing after, and sees nothing acknowledged.
            for (let i = below(150); i >= 0 && !crashed; i--) {
                const offsetBytes = below(diskBytes);
                const lengthBytes = Math.min(diskBytes - offsetBytes, below(3 * g));
                if (random() < 0.1) {
                    for (const r of clearedRegions(offsetBytes, lengthBytes, g, diskBytes)) {
                        epoch[r] += 1;
                        required[r] = 0;
                    }
                    issued.push(map.clearRange(offsetBytes, lengthBytes));
                }
                else {
                    const regions = coveredRegions({ offsetBytes, lengthBytes }, g);
                    const epochs = regions.map((r) => epoch[r]);
                    for (const r of regions)
                        mayBeDirty[r] = 1;
                    const p = map.mark(offsetBytes, lengthBytes).then(() => regions.forEach((r, k) => {
                        if (!crashed && epoch[r] === epochs[k])
                            required[r] = 1;
                    }));
                    issued.push(p);
                }
                if (random() < 0.3)
                    await drainMicrotasks();
            }
            await Promise.all(issued);
            await map.close();
        };
        void workload().then(() => (finished = true), (err) => ((failure = err), (finished = true)));
        for (let step = 0; !finished && !crashed; step++) {
            assert.ok(step < 10_000, `${at}: the workload neither finished nor lost power`);
            await drainMicrotasks();
        }
        assert.equal(failure, undefined, `${at}: the workload failed`);
        const afterLoss = crashed ?? storage.crash();
        const events = recorder();
        const map = await DirtyMap.open(afterLoss, mapPath, { ...options, observer: events.observer });
        for (const block of events.corruptBlocks) {
            const first = block * DIRTY_MAP_REGIONS_PER_BLOCK;
            for (let r = first; r < Math.min(regionCount, first + DIRTY_MAP_REGIONS_PER_BLOCK); r++)
                mayBeDirty[r] = 1;
        }
        for (let r = 0; r < regionCount; r++) {
            const dirty = map.isDirty(r * g, Math.min(g, diskBytes - r * g));
            if (required[r] === 1)
                assert.ok(dirty, `${at}, round ${round}: acknowledged region ${r} was lost`);
            if (mayBeDirty[r] === 0)
                assert.ok(!dirty, `${at}, round ${round}: region ${r} was never marked`);
        }
        await map.close();
        const names = await afterLoss.list("/var/lib/marsd/r0");
        assert.deepEqual(names, ["dirty.map"], `${at}, round ${round}: a crash while creating it left a copy`);
        storage = afterLoss;
    }
}
describe(`DirtyMap under power loss (seed ${SEED}; MARSD_TEST_SEED=${SEED} replays)`, () => {
    it(`keeps every acknowledged mark through seeded power losses (seed ${SEED}, ${CASES} cases)`, async () => {
        // MARSD_DIRTY_MAP_CASE=<case seed> replays one case (a failure names it).
        const one = process.env.MARSD_DIRTY_MAP_CASE;
        if (one !== undefined && one !== "")
            return powerLossCase(Number(one));
        const seeds = prng(SEED);
        for (let c = 0; c < CASES; c++)
            await powerLossCase(Math.floor(seeds() * 2 ** 31));
    });
});
//# sourceMappingURL=dirty-map.test.js.map
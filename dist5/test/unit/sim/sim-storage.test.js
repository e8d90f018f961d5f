/**
 * SimStorage keeps exactly what a Linux filesystem promises across a power
 * loss: synced data, synced directory entries, and (torn) unsynced data
 * only at sector granularity; its faults look like Node's fs errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prng } from "../../helpers/prng.js";
import { simSeed } from "../../sim/seed.js";
import { SimClock, drainMicrotasks } from "../../sim/sim-clock.js";
import { SimStorage } from "../../sim/sim-storage.js";
const SEED = simSeed();
const bytes = (n, fill) => Buffer.alloc(n, fill);
const text = (s) => new TextEncoder().encode(s);
const decode = (b) => new TextDecoder().decode(b);
async function fresh(seed = SEED) {
    const storage = new SimStorage({ seed });
    await storage.makeDirectory("/d");
    await storage.syncDirectory("/");
    return storage;
}
async function writeFile(storage, p, data, sync) {
    const f = await storage.open(p, "create");
    await f.writev([data], 0);
    if (sync)
        await f.datasync();
    await f.close();
}
async function exists(storage, p) {
    return storage.stat(p).then(() => true, (err) => {
        assert.equal(err.code, "ENOENT");
        return false;
    });
}
describe("SimStorage", () => {
    it("reads back what was written, with Node-like errors", async () => {
        const storage = await fresh();
        const f = await storage.open("/d/a", "create");
        await f.writev([text("hello "), text("world")], 0);
        const target = new Uint8Array(20);
        assert.equal(await f.read(target, 6), 5);
        assert.equal(decode(target.subarray(0, 5)), "world");
        await f.writeRanges([
            { offsetBytes: 0, lengthBytes: 5, data: text("HELLO") },
            { offsetBytes: 2, lengthBytes: 2 },
        ]);
        assert.equal(decode(await storage.readFile("/d/a")), "HE\0\0O world");
        await f.truncate(2);
        assert.equal(await f.sizeBytes(), 2);
        assert.deepEqual((await storage.list("/d")).sort(), ["a"]);
        const facts = await storage.stat("/d/a");
        assert.equal(facts.kind, "file");
        assert.equal(facts.sizeBytes, 2);
        await assert.rejects(storage.open("/d/a", "create"), { code: "EEXIST", syscall: "open", path: "/d/a" });
        await assert.rejects(storage.open("/d/none", "read"), { code: "ENOENT", errno: -2 });
        await assert.rejects(storage.open("/none/x", "create"), { code: "ENOENT" });
        await assert.rejects(storage.list("/d/a"), { code: "ENOTDIR" });
        const readOnly = await storage.open("/d/a", "read");
        await assert.rejects(readOnly.writev([text("x")], 0), { code: "EBADF" });
        await f.close();
        await assert.rejects(f.read(target, 0), { code: "EBADF" });
        await storage.remove("/d/none"); // already gone: not an error
        await storage.removeTree("/nowhere/at/all");
    });
    it("a crash keeps synced data and drops unsynced data", async () => {
        const storage = await fresh();
        const f = await storage.open("/d/log", "create");
        await f.writev([bytes(1024, 1)], 0);
        await f.datasync();
        await storage.syncDirectory("/d");
        await f.writev([bytes(1024, 2)], 1024);
        await f.writev([bytes(512, 3)], 0);
        const after = storage.crash("none");
        assert.deepEqual(await after.readFile("/d/log"), bytes(1024, 1));
        // The old process is dead: its operations never settle.
        let settled = false;
        void f.read(new Uint8Array(1), 0).finally(() => (settled = true));
        void storage.list("/d").finally(() => (settled = true));
        await drainMicrotasks();
        assert.equal(settled, false);
    });
    it("a new file without a directory sync is gone after a crash, however synced its data", async () => {
        const storage = await fresh();
        await writeFile(storage, "/d/new", bytes(100, 7), true);
        const after = storage.crash();
        assert.equal(await exists(after, "/d/new"), false);
        await writeFile(after, "/d/new", bytes(100, 7), true);
        await after.syncDirectory("/d");
        assert.deepEqual(await after.crash().readFile("/d/new"), bytes(100, 7));
    });
    it("a new directory needs its parent synced, and its own entries need it synced", async () => {
        const storage = await fresh();
        await storage.makeDirectory("/d/sub/deeper");
        await storage.syncDirectory("/d");
        const after = storage.crash();
        assert.equal(await exists(after, "/d/sub"), true);
        assert.equal(await exists(after, "/d/sub/deeper"), false);
    });
    it("a rename is durable only after the directory sync; until then the old name survives", async () => {
        const storage = await fresh();
        await writeFile(storage, "/d/state", text("old"), true);
        await storage.syncDirectory("/d");
        await writeFile(storage, "/d/state.tmp", text("new"), true);
        await storage.rename("/d/state.tmp", "/d/state");
        assert.equal(decode(await storage.readFile("/d/state")), "new");
        const lost = storage.crash();
        assert.equal(decode(await lost.readFile("/d/state")), "old");
        assert.equal(await exists(lost, "/d/state.tmp"), false);
        await writeFile(lost, "/d/state.tmp", text("new"), true);
        await lost.rename("/d/state.tmp", "/d/state");
        await lost.syncDirectory("/d");
        const kept = lost.crash();
        assert.equal(decode(await kept.readFile("/d/state")), "new");
        assert.deepEqual(await kept.list("/d"), ["state"]);
    });
    it("a removal is durable only after the directory sync", async () => {
        const storage = await fresh();
        await writeFile(storage, "/d/x", text("x"), true);
        await storage.syncDirectory("/d");
        await storage.remove("/d/x");
        const back = storage.crash();
        assert.equal(await exists(back, "/d/x"), true);
        await back.remove("/d/x");
        await back.syncDirectory("/d");
        assert.equal(await exists(back.crash(), "/d/x"), false);
    });
    it("a kill (process crash) keeps the page cache, unsynced data included", async () => {
        const storage = await fresh();
        await writeFile(storage, "/d/k", text("cached"), false);
        const after = storage.kill();
        assert.equal(storage.alive, false);
        assert.equal(decode(await after.readFile("/d/k")), "cached");
    });
    it("O_DSYNC writes are durable when they complete; without honourSyncWrites the file says so", async () => {
        const storage = await fresh();
        const f = await storage.open("/d/o", "create", { syncWrites: true });
        assert.equal(f.syncWrites, true);
        await storage.syncDirectory("/d");
        await f.writev([bytes(700, 9)], 0);
        assert.deepEqual(await storage.crash("none").readFile("/d/o"), bytes(700, 9));
        const plain = new SimStorage({ seed: SEED, honourSyncWrites: false });
        const g = await plain.open("/o", "create", { syncWrites: true });
        assert.equal(g.syncWrites, false);
    });
    it(`tears the last unsynced write at a sector boundary (seed ${SEED})`, async () => {
        const random = prng(SEED);
        const seen = new Set();
        for (let round = 0; round < 40; round++) {
            const storage = await fresh(Math.floor(random() * 2 ** 32));
            const f = await storage.open("/d/t", "create");
            await storage.syncDirectory("/d");
            const start = 100; // not aligned: the first cut is at 512
            await f.writev([bytes(start, 1)], 0);
            await f.datasync();
            await f.writev([bytes(2000, 2)], start);
            const torn = await storage.crash("last-write").readFile("/d/t");
            assert.ok([100, 512, 1024, 1536, 2048, 2100].includes(torn.length), `torn length ${torn.length}`);
            assert.deepEqual(torn.subarray(0, start), bytes(start, 1));
            assert.ok(torn.subarray(start).every((b) => b === 2));
            seen.add(torn.length);
        }
        assert.ok(seen.size >= 4, `40 crashes cut at only ${[...seen].join(", ")}`);
    });
    it(`"any-sectors" lets an arbitrary subset of dirty sectors through, never part of one (seed ${SEED})`, async () => {
        const storage = await fresh();
        const f = await storage.open("/d/s", "create");
        await storage.syncDirectory("/d");
        await f.writev([bytes(8 * 512, 0)], 0);
        await f.datasync();
        for (let s = 0; s < 8; s++)
            await f.writev([bytes(512, s + 1)], s * 512);
        const after = await storage.crash("any-sectors").readFile("/d/s");
        assert.equal(after.length, 8 * 512);
        for (let s = 0; s < 8; s++) {
            const sector = after.subarray(s * 512, (s + 1) * 512);
            assert.ok(sector.every((b) => b === 0) || sector.every((b) => b === s + 1), `sector ${s} is whole`);
        }
    });
    it("injects EIO on matching paths with a seeded probability, after N matches, N times", async () => {
        const storage = new SimStorage({
            seed: SEED,
            rules: [{ ops: ["read"], path: /\/bad$/, code: "EIO", afterMatches: 1, times: 2 }],
        });
        await writeFile(storage, "/bad", text("x"), false);
        await writeFile(storage, "/good", text("x"), false);
        const bad = await storage.open("/bad", "read");
        const good = await storage.open("/good", "read");
        const buf = new Uint8Array(1);
        assert.equal(await bad.read(buf, 0), 1);
        await assert.rejects(bad.read(buf, 0), { code: "EIO", errno: -5, syscall: "read", path: "/bad" });
        await assert.rejects(bad.read(buf, 0), { code: "EIO" });
        assert.equal(await bad.read(buf, 0), 1);
        assert.equal(await good.read(buf, 0), 1);
        const flaky = (seed) => new SimStorage({ seed, rules: [{ ops: ["writev"], code: "EIO", probability: 0.5 }] });
        const outcomes = async (seed) => {
            const s = flaky(seed);
            const f = await s.open("/f", "create");
            const results = [];
            for (let i = 0; i < 64; i++)
                results.push(await f.writev([text("x")], i).then(() => true, () => false));
            return results;
        };
        const first = await outcomes(SEED);
        assert.deepEqual(first, await outcomes(SEED), "same seed, same failures");
        assert.ok(first.includes(true) && first.includes(false));
    });
    it("a failed datasync drops the file's unsynced data, and a later datasync cannot bring it back", async () => {
        const storage = new SimStorage({
            seed: SEED,
            rules: [{ ops: ["datasync"], code: "EIO", times: 1, afterMatches: 1 }],
        });
        const f = await storage.open("/f", "create");
        await storage.syncDirectory("/");
        await f.writev([bytes(600, 1)], 0);
        await f.datasync();
        await f.writev([bytes(600, 2)], 600);
        await f.writev([bytes(10, 3)], 0);
        await assert.rejects(f.datasync(), { code: "EIO" });
        assert.deepEqual(await storage.readFile("/f"), bytes(600, 1), "reads see the durable data again");
        await f.datasync();
        assert.deepEqual(await storage.crash("any-sectors").readFile("/f"), bytes(600, 1));
    });
    it("fails growth beyond the capacity with ENOSPC; overwrites still work", async () => {
        const storage = new SimStorage({ seed: SEED, capacityBytes: 4096 });
        const f = await storage.open("/f", "create");
        await f.writev([bytes(4000, 1)], 0);
        await assert.rejects(f.writev([bytes(100, 1), bytes(100, 2)], 4000), {
            code: "ENOSPC",
            syscall: "writev",
        });
        assert.equal(await f.sizeBytes(), 4096, "what fits was written (a short write), then ENOSPC");
        await f.writev([bytes(96, 2)], 4000); // within the last sector
        await f.writev([bytes(1000, 3)], 0);
        const g = await storage.open("/g", "create");
        await assert.rejects(g.writev([bytes(1, 1)], 0), { code: "ENOSPC" });
        await storage.remove("/f");
        await g.writev([bytes(4096, 1)], 0);
    });
    it("a slow sync completes only after virtual time passes, and is not durable before", async () => {
        const clock = new SimClock();
        const storage = new SimStorage({ seed: SEED, clock, slowSync: { clock, delayMs: 250, path: /slow/ } });
        const f = await storage.open("/slow", "create");
        await f.writev([text("data")], 0);
        let done = false;
        void f.datasync().then(() => (done = true));
        await clock.advance(249);
        assert.equal(done, false);
        await clock.advance(1);
        assert.equal(done, true);
        assert.equal(clock.monotonicMs(), 250);
    });
    it(`with latency, concurrent operations complete in a seeded order (seed ${SEED})`, async () => {
        const order = async (seed) => {
            const clock = new SimClock();
            const storage = new SimStorage({ seed, latency: { clock, maxMs: 10 } });
            const files = await Promise.all(["/a", "/b", "/c", "/d"].map(async (p) => {
                const opened = storage.open(p, "create");
                await clock.runUntilIdle();
                return opened;
            }));
            const completed = [];
            for (const f of files)
                void f.writev([text(f.path)], 0).then(() => completed.push(f.path));
            await clock.runUntilIdle();
            for (const f of files)
                assert.equal(decode(await readAll(storage, clock, f.path)), f.path);
            return completed.join("");
        };
        const first = await order(SEED);
        assert.equal(first.length, 8, "every write completed");
        assert.equal(await order(SEED), first);
        const seen = new Set();
        for (let k = 0; k < 20; k++)
            seen.add(await order(SEED + k));
        assert.ok(seen.size > 1, "different seeds complete in different orders");
    });
    it("a crash at a chosen operation stops that operation and hands over the next view", async () => {
        const storage = await fresh();
        const f = await storage.open("/d/c", "create");
        await storage.syncDirectory("/d");
        let next;
        storage.crashAtOperation(storage.operations + 3, (s) => (next = s));
        await f.writev([text("a")], 0);
        await f.datasync();
        let settled = false;
        void f.writev([text("b")], 1).finally(() => (settled = true));
        await drainMicrotasks();
        assert.ok(next, "crashed");
        assert.equal(settled, false);
        assert.equal(decode(await next.readFile("/d/c")), "a");
    });
    it("block devices have a fixed size, start zeroed and durable, and refuse writes past the end", async () => {
        const storage = await fresh();
        await storage.createBlockDevice("/d/disk", 8192);
        const disk = await storage.open("/d/disk", "readwrite");
        assert.equal(await disk.sizeBytes(), 8192);
        assert.equal((await storage.stat("/d/disk")).kind, "block-device");
        await disk.writeRanges([{ offsetBytes: 4096, lengthBytes: 4096, data: bytes(4096, 5) }]);
        await assert.rejects(disk.writev([bytes(1, 1)], 8192), { code: "ENOSPC" });
        await assert.rejects(disk.truncate(0), { code: "EINVAL" });
        const after = await storage.crash("none").readFile("/d/disk");
        assert.deepEqual(after, Buffer.alloc(8192));
    });
});
/** readFile on a storage with latency: the clock must run for it to complete. */
async function readAll(storage, clock, p) {
    const reading = storage.readFile(p);
    await clock.runUntilIdle();
    return reading;
}
//# sourceMappingURL=sim-storage.test.js.map
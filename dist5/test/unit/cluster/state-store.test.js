import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pino } from "pino";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { systemRandom } from "../../../src/platform/random.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { Keys } from "../../../src/cluster/keys.js";
import { JOURNAL_FILE } from "../../../src/cluster/state-journal.js";
import { StateStore } from "../../../src/cluster/state-store.js";
import { STATE_FILE } from "../../../src/cluster/state-persistence.js";
const logger = pino({ level: "silent" });
const dirs = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
class ManualWall {
    us;
    constructor(us) {
        this.us = us;
    }
    nowUs() {
        return this.us;
    }
}
async function store(host, wallUs = 1_000_000_000) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "state-"));
    dirs.push(dir);
    const wall = new ManualWall(wallUs);
    const s = await StateStore.load(dir, host, new LamportClock({ wall }), logger, nodeStorage, systemRandom);
    return { s, wall, dir };
}
const entry = (key, value, stampUs, owner, deleted = false) => deleted ? { key, value: null, stampUs, owner, deleted: true } : { key, value, stampUs, owner };
test("merge: the newest stamp wins, older versions are ignored", async () => {
    const { s } = await store("alpha");
    const key = Keys.resourcePrimary("r0");
    assert.equal(s.merge([entry(key, "beta", 2_000, "beta")], "beta").length, 1);
    assert.equal(s.merge([entry(key, "gamma", 1_000, "gamma")], "gamma").length, 0);
    assert.equal(s.value(key), "beta");
    assert.equal(s.merge([entry(key, "gamma", 3_000, "gamma")], "gamma").length, 1);
    assert.equal(s.value(key), "gamma");
});
test("merge: equal stamps are decided the same way on every node", async () => {
    const key = Keys.resourcePrimary("r0");
    const a = entry(key, "beta", 5_000, "beta");
    const b = entry(key, "gamma", 5_000, "gamma");
    const one = (await store("x")).s;
    const two = (await store("y")).s;
    one.merge([a, b], "p");
    two.merge([b, a], "p");
    assert.equal(one.value(key), two.value(key));
});
test("merge: only the owner may write its keys, and junk is refused", async () => {
    const { s } = await store("alpha");
    const applied = s.merge([
        entry(Keys.nodeAddress("beta"), "10.0.0.2:7777", 1_000, "gamma"), // gamma may not write beta's key
        entry("not/a/key", 1, 1_000, "beta"),
        { key: Keys.nodeAddress("beta"), value: "x", stampUs: -5, owner: "beta" },
        entry(Keys.nodeAddress("beta"), "y".repeat(70_000), 1_000, "beta"),
        "garbage",
        null,
        entry(Keys.nodeAddress("beta"), "10.0.0.2:7777", 1_000, "beta"),
    ], "gamma");
    assert.deepEqual(applied.map((e) => e.key), [Keys.nodeAddress("beta")]);
    assert.equal(s.value(Keys.nodeAddress("beta")), "10.0.0.2:7777");
});
test("merge: stamps absurdly far in the future are refused", async () => {
    const { s } = await store("alpha", 1_000_000_000);
    const far = 1_000_000_000 + 3_600 * 1_000_000 * 24;
    assert.equal(s.merge([entry(Keys.nodeAddress("beta"), "a", far, "beta")], "beta").length, 0);
});
test("local writes get fresh stamps; an unchanged value is not a change", async () => {
    const { s } = await store("alpha");
    const key = Keys.nodeAddress("alpha");
    const first = s.set(key, "10.0.0.1:7777");
    assert.ok(first);
    assert.equal(s.set(key, "10.0.0.1:7777"), undefined);
    const second = s.set(key, "10.0.0.1:7778");
    assert.ok(second && second.stampUs > first.stampUs);
    assert.throws(() => s.set(Keys.nodeAddress("beta"), "x"), /may not write/);
});
test("deletion is a tombstone that spreads and beats older live copies", async () => {
    const a = (await store("alpha")).s;
    const b = (await store("beta")).s;
    const key = Keys.resourceHost("r0", "alpha", "member");
    const live = a.set(key, { disk: "/dev/x" });
    assert.ok(live);
    b.merge([live], "alpha");
    const tomb = a.delete(key);
    assert.ok(tomb?.deleted);
    assert.equal(a.get(key), undefined);
    b.merge(a.entriesSince({}), "alpha");
    assert.equal(b.get(key), undefined, "the tombstone reached beta");
    // A slow node relaying the old live copy must not resurrect it.
    assert.equal(b.merge([live], "gamma").length, 0);
    assert.equal(b.get(key), undefined);
});
test("tombstones are collected only when old enough and seen by every member", async () => {
    const { s, wall } = await store("alpha");
    const key = Keys.resourceHost("r0", "alpha", "member");
    s.set(key, 1);
    const tomb = s.delete(key);
    const members = ["alpha", "beta", "gamma"];
    const seenBy = new Map([["beta", { alpha: tomb.stampUs }]]);
    wall.us += 10_000_000;
    assert.equal(s.collectTombstones(members, seenBy, 1_000_000), 0, "gamma has not seen it");
    seenBy.set("gamma", { alpha: tomb.stampUs });
    assert.equal(s.collectTombstones(members, seenBy, 60_000_000), 0, "too young");
    assert.equal(s.collectTombstones(members, seenBy, 1_000_000), 1);
    assert.equal(s.allEntries().length, 0);
});
test("deltas: entriesSince returns only what is newer per owner", async () => {
    const { s } = await store("alpha");
    s.merge([
        entry(Keys.nodeAddress("beta"), "b1", 100, "beta"),
        entry(Keys.nodeAddress("gamma"), "g1", 200, "gamma"),
        entry(Keys.resourceHost("r0", "beta", "member"), 1, 300, "beta"),
    ], "p");
    assert.deepEqual(s.entriesSince({ beta: 100, gamma: 200, alpha: Number.MAX_SAFE_INTEGER }).map((e) => e.key), [Keys.resourceHost("r0", "beta", "member")]);
    assert.equal(s.entriesSince({ beta: 300, gamma: 200, alpha: Number.MAX_SAFE_INTEGER }).length, 0);
});
test("forgetting a removed owner keeps removal records", async () => {
    const { s } = await store("alpha");
    s.merge([entry(Keys.nodeAddress("beta"), "b", 100, "beta"), entry(Keys.removed("beta"), true, 200, "beta")], "beta");
    assert.equal(s.forgetOwner("beta"), 1);
    assert.equal(s.value(Keys.removed("beta")), true);
    assert.equal(s.get(Keys.nodeAddress("beta")), undefined);
});
test("persistence round trip: entries, tombstones and completeness survive a restart", async () => {
    const { s, dir } = await store("alpha");
    s.set(Keys.nodeAddress("alpha"), "10.0.0.1:7777");
    const tomb = s.set(Keys.resourceHost("r0", "alpha", "member"), 1);
    s.delete(Keys.resourceHost("r0", "alpha", "member"));
    s.merge([entry(Keys.nodeAddress("beta"), "10.0.0.2:7777", 500, "beta")], "beta");
    s.noteComplete("beta", 500);
    await s.flush();
    // A restarted node's clock must never reissue stamps it used before, even if the wall clock went back.
    const clock = new LamportClock({ wall: new ManualWall(1) });
    const again = await StateStore.load(dir, "alpha", clock, logger, nodeStorage, systemRandom);
    assert.equal(again.value(Keys.nodeAddress("alpha")), "10.0.0.1:7777");
    assert.equal(again.value(Keys.nodeAddress("beta")), "10.0.0.2:7777");
    assert.equal(again.get(Keys.resourceHost("r0", "alpha", "member")), undefined);
    assert.equal(again.allEntries().filter((e) => e.deleted).length, 1);
    assert.deepEqual(again.seen(), { beta: 500 });
    assert.ok(clock.now() > tomb.stampUs);
});
test("every change is durable in the journal at once; a torn journal tail is cut", async () => {
    const { s, dir } = await store("alpha");
    s.set(Keys.nodeAddress("alpha"), "a1");
    s.set(Keys.resourceHost("r0", "alpha", "member"), { disk: "/d" });
    await s.flush();
    // Not closed (a crash): the journal alone brings everything back.
    const torn = Buffer.from('0badc0de {"put":{"key":"node/alpha/address","value":"torn"');
    await appendFile(path.join(dir, JOURNAL_FILE), torn);
    const again = await StateStore.load(dir, "alpha", new LamportClock({ wall: systemClock }), logger, nodeStorage, systemRandom);
    assert.equal(again.value(Keys.nodeAddress("alpha")), "a1");
    assert.deepEqual(again.value(Keys.resourceHost("r0", "alpha", "member")), { disk: "/d" });
    const journal = await readFile(path.join(dir, JOURNAL_FILE), "utf8");
    assert.ok(journal.endsWith("\n") && !journal.includes("torn"), "the torn line was cut off");
});
test("a large journal is folded into a snapshot; replaying old lines over it changes nothing", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "state-"));
    dirs.push(dir);
    const s = await StateStore.load(dir, "alpha", new LamportClock({ wall: systemClock }), logger, nodeStorage, systemRandom, 2048);
    for (let i = 0; i < 40; i++) {
        s.set(Keys.nodeAddress("alpha"), `10.0.0.${i}:7777`);
        await s.flush();
    }
    const snapshot = JSON.parse(await readFile(path.join(dir, STATE_FILE), "utf8"));
    assert.equal(snapshot.entries.length, 1, "a snapshot was written");
    assert.ok((await readFile(path.join(dir, JOURNAL_FILE))).length < 2048 + 1024, "and the journal emptied");
    const again = await StateStore.load(dir, "alpha", new LamportClock({ wall: systemClock }), logger, nodeStorage, systemRandom);
    assert.equal(again.value(Keys.nodeAddress("alpha")), "10.0.0.39:7777");
});
//# sourceMappingURL=state-store.test.js.map
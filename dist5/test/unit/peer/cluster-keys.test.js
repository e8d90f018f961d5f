import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { Keys } from "../../../src/cluster/keys.js";
import { ClusterKeys } from "../../../src/cluster/node-keys.js";
import { StateStore } from "../../../src/cluster/state-store.js";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { generateNodeKey } from "../../../src/peer/node-key.js";
import { systemClock } from "../../../src/platform/clock.js";
import { seededRandom, systemRandom } from "../../../src/platform/random.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
const SEED = Number(process.env.MARSD_TEST_SEED ?? 61);
console.log(`cluster-keys tests: seed ${SEED} (MARSD_TEST_SEED=${SEED} replays)`);
/** alpha's view: bravo's key arrives (join, relays); a different one for bravo must never replace it. */
describe("registered node keys in the cluster state", () => {
    const dirs = [];
    after(async () => {
        for (const dir of dirs)
            await rm(dir, { recursive: true, force: true });
    });
    async function alpha() {
        const dir = await mkdtemp(path.join(os.tmpdir(), "cluster-keys-"));
        dirs.push(dir);
        const logger = pino({ level: "silent" });
        const clock = new LamportClock({ wall: systemClock });
        const state = await StateStore.load(dir, "alpha", clock, logger, nodeStorage, systemRandom);
        const random = seededRandom(SEED);
        const removed = new Set();
        const keys = new ClusterKeys({
            host: "alpha",
            own: generateNodeKey(random),
            state,
            clusterId: () => "cl",
            isRemoved: (h) => removed.has(h),
            logger,
        });
        const entry = (value, extra = {}) => ({
            key: Keys.nodeKey("bravo"),
            value,
            stampUs: clock.now(),
            owner: "bravo",
            ...extra,
        });
        const merge = (e) => state.merge([e], "relay", (x) => keys.refuses(x));
        return { state, keys, random, removed, entry, merge };
    }
    it("the first key is taken; a different one, a deletion or junk is refused, even with a newer stamp", async () => {
        const { state, keys, random, entry, merge } = await alpha();
        const bravo = generateNodeKey(random);
        const mallory = generateNodeKey(random);
        assert.equal(keys.requestKey("bravo"), undefined);
        assert.equal(merge(entry(bravo.publicKey)).length, 1);
        assert.equal(keys.requestKey("bravo")?.fingerprint, bravo.fingerprint);
        assert.equal(merge(entry(mallory.publicKey)).length, 0);
        assert.equal(merge(entry(null, { deleted: true })).length, 0);
        assert.equal(merge(entry("not a key")).length, 0);
        assert.equal(state.value(Keys.nodeKey("bravo")), bravo.publicKey);
        // The same key again (a relay) is harmless.
        assert.equal(merge(entry(bravo.publicKey)).length, 1);
        assert.equal(keys.requestKey("bravo")?.fingerprint, bravo.fingerprint);
    });
    it("a removed host has no key; once its entries are dropped, it can register a new one", async () => {
        const { state, keys, random, removed, entry, merge } = await alpha();
        merge(entry(generateNodeKey(random).publicKey));
        removed.add("bravo");
        assert.equal(keys.requestKey("bravo"), undefined);
        state.forgetOwner("bravo");
        removed.delete("bravo");
        const renewed = generateNodeKey(random);
        assert.equal(merge(entry(renewed.publicKey)).length, 1);
        assert.equal(keys.requestKey("bravo")?.fingerprint, renewed.fingerprint);
    });
    it("registers its own key once", async () => {
        const { state, keys } = await alpha();
        keys.registerOwn();
        const stamp = state.get(Keys.nodeKey("alpha"))?.stampUs;
        assert.equal(state.value(Keys.nodeKey("alpha")), keys.publicKey);
        keys.registerOwn();
        assert.equal(state.get(Keys.nodeKey("alpha"))?.stampUs, stamp);
    });
});
//# sourceMappingURL=cluster-keys.test.js.map
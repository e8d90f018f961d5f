/**
 * PeerLink's pull schedule draws its jitter from the injected Random: on
 * virtual time, the same seed gives the same schedule to the microsecond
 * (what the simulator's replay needs), another seed another one, and every
 * delay stays within its bounds (first pull within min(interval, 1 s),
 * then interval x [0.8, 1.2)).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { PeerLink } from "../../../src/cluster/peer-link.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { seededRandom } from "../../../src/platform/random.js";
import { SimClock } from "../../sim/sim-clock.js";
const SEED = Number(process.env.MARSD_TEST_SEED ?? 0x11ac);
const SYNC_INTERVAL_MS = 2_000;
const PULLS = 20;
/** A SimClock that records every delay it is asked for. */
class RecordingClock extends SimClock {
    delaysMs = [];
    setTimer(delayMs, callback) {
        this.delaysMs.push(delayMs);
        return super.setTimer(delayMs, callback);
    }
}
/** The delays of the link's first PULLS scheduled pulls, on virtual time. */
async function schedule(seed) {
    const time = new RecordingClock();
    const link = new PeerLink("beta", "127.0.0.1:1", "alpha", 
    // Without credentials (not joined yet) a pull is skipped before it reaches the
    // client or the store: the link only schedules the next one, which is what we watch.
    undefined, () => undefined, undefined, { syncIntervalMs: SYNC_INTERVAL_MS, retryMaxMs: 10_000 }, time, seededRandom(seed), new Metrics({ defaultMetrics: false }), pino({ level: "silent" }), () => false);
    link.start();
    while (time.delaysMs.length < PULLS)
        assert.ok(await time.runNext(), "the link keeps a pull scheduled");
    link.stop();
    return time.delaysMs;
}
describe("PeerLink jitter", () => {
    it(`replays its schedule from seed ${SEED}; another seed gives another`, async () => {
        const first = await schedule(SEED);
        assert.deepEqual(await schedule(SEED), first);
        assert.notDeepEqual(await schedule(SEED + 1), first);
    });
    it("keeps every delay within its bounds", async () => {
        const [start, ...rest] = await schedule(SEED);
        assert.ok(start !== undefined && start >= 0 && start < Math.min(SYNC_INTERVAL_MS, 1000), `start ${start}`);
        for (const delayMs of rest) {
            assert.ok(delayMs >= 0.8 * SYNC_INTERVAL_MS && delayMs < 1.2 * SYNC_INTERVAL_MS, `delay ${delayMs}`);
        }
        assert.ok(new Set(rest).size > PULLS / 2, "the delays vary");
    });
});
//# sourceMappingURL=peer-link.test.js.map
/**
 * SimClock: virtual time moves only when the simulator runs it, timers fire
 * in (due time, scheduling order), awaits inside callbacks finish before
 * the next callback, and an NTP step moves wall time alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prng } from "../../helpers/prng.js";
import { simSeed } from "../../sim/seed.js";
import { SimClock, SimClockStuckError } from "../../sim/sim-clock.js";
const SEED = simSeed();
describe("SimClock", () => {
    it("starts at the given epoch and moves time only when run", async () => {
        const clock = new SimClock({ startWallMs: 1_000_000 });
        assert.equal(clock.monotonicMs(), 0);
        assert.equal(clock.nowMs(), 1_000_000);
        assert.equal(clock.nowUs(), 1_000_000_000);
        let fired = false;
        clock.setTimer(50, () => (fired = true));
        await clock.advance(49);
        assert.equal(fired, false);
        assert.equal(clock.monotonicMs(), 49);
        await clock.advance(1);
        assert.equal(fired, true);
        assert.equal(clock.nowMs(), 1_000_050);
    });
    it("fires timers by due time, ties in scheduling order, never synchronously", async () => {
        const clock = new SimClock();
        const order = [];
        clock.setTimer(20, () => order.push("b20"));
        clock.setTimer(10, () => order.push("a10"));
        clock.setTimer(20, () => order.push("c20"));
        clock.setTimer(0, () => order.push("zero")); // Node: 0 means 1 ms
        clock.setTimer(-5, () => order.push("negative"));
        clock.setTimer(2 ** 31, () => order.push("overflow")); // Node: too large means 1 ms
        assert.deepEqual(order, []);
        await clock.runUntilIdle();
        assert.deepEqual(order, ["zero", "negative", "overflow", "a10", "b20", "c20"]);
        assert.equal(clock.monotonicMs(), 20);
    });
    it(`orders many random timers the same way on every run (seed ${SEED})`, async () => {
        const run = async () => {
            const random = prng(SEED);
            const clock = new SimClock();
            const fired = [];
            for (let i = 0; i < 500; i++) {
                const delay = Math.floor(random() * 50);
                clock.setTimer(delay, () => fired.push([clock.monotonicMs(), i]));
            }
            await clock.runUntilIdle();
            return fired;
        };
        const first = await run();
        assert.deepEqual(first, await run());
        for (let k = 1; k < first.length; k++) {
            const [prevMs, prevI] = first[k - 1];
            const [ms, i] = first[k];
            assert.ok(prevMs < ms || (prevMs === ms && prevI < i), `order at ${k}`);
        }
    });
    it("cancels timers and repeating timers, idempotently", async () => {
        const clock = new SimClock();
        let ticks = 0;
        let once = 0;
        const repeating = clock.setRepeating(10, () => {
            ticks += 1;
            if (ticks === 3)
                repeating.cancel();
        });
        const single = clock.setTimer(5, () => (once += 1));
        single.cancel();
        single.cancel();
        await clock.advance(100);
        assert.equal(ticks, 3);
        assert.equal(once, 0);
        assert.equal(clock.pendingTimers, 0);
    });
    it("runs nextTurn callbacks before the next timer and without moving time; new ones wait a turn", async () => {
        const clock = new SimClock();
        const order = [];
        clock.setTimer(1, () => order.push("timer"));
        clock.nextTurn(() => {
            order.push("turn1");
            clock.nextTurn(() => order.push("turn3"));
        });
        clock.nextTurn(() => order.push("turn2"));
        await clock.runNext();
        assert.deepEqual(order, ["turn1", "turn2"]);
        assert.equal(clock.monotonicMs(), 0);
        await clock.runUntilIdle();
        assert.deepEqual(order, ["turn1", "turn2", "turn3", "timer"]);
    });
    it("finishes the awaits a callback starts before the next callback runs", async () => {
        const clock = new SimClock();
        const order = [];
        clock.setTimer(10, () => {
            void (async () => {
                for (let i = 0; i < 50; i++)
                    await Promise.resolve();
                order.push("first done");
            })();
        });
        clock.setTimer(10, () => order.push("second"));
        await clock.runUntilIdle();
        assert.deepEqual(order, ["first done", "second"]);
    });
    it("sleep resolves after virtual time and rejects with the abort reason", async () => {
        const clock = new SimClock();
        let slept = false;
        void clock.sleep(30).then(() => (slept = true));
        await clock.advance(29);
        assert.equal(slept, false);
        await clock.advance(1);
        assert.equal(slept, true);
        const controller = new AbortController();
        const sleeping = clock.sleep(1000, controller.signal);
        controller.abort(new Error("stop"));
        await assert.rejects(sleeping, /stop/);
        assert.equal(clock.pendingTimers, 0, "the aborted sleep's timer is cancelled");
        await assert.rejects(clock.sleep(1, controller.signal), /stop/);
    });
    it("timeoutSignal aborts with a TimeoutError at its virtual deadline", async () => {
        const clock = new SimClock();
        const signal = clock.timeoutSignal(100);
        await clock.advance(99);
        assert.equal(signal.aborted, false);
        await clock.advance(1);
        assert.equal(signal.aborted, true);
        assert.equal(signal.reason.name, "TimeoutError");
    });
    it("an NTP step moves wall time, not monotonic time or timers", async () => {
        const clock = new SimClock({ startWallMs: 5_000 });
        let firedAt = -1;
        clock.setTimer(100, () => (firedAt = clock.monotonicMs()));
        clock.stepWall(-3_000);
        assert.equal(clock.nowMs(), 2_000);
        assert.equal(clock.monotonicMs(), 0);
        await clock.advance(100);
        assert.equal(firedAt, 100);
        assert.equal(clock.nowMs(), 2_100);
    });
    it("stops a run at a callback that throws", async () => {
        const clock = new SimClock();
        clock.setTimer(1, () => {
            throw new Error("boom");
        });
        await assert.rejects(clock.runUntilIdle(), /boom/);
    });
    it("runUntilIdle ignores unref'd timers and reports a simulation that never idles", async () => {
        const clock = new SimClock();
        clock.setRepeating(1000, () => undefined).unref();
        await clock.runUntilIdle();
        assert.equal(clock.monotonicMs(), 0);
        clock.setRepeating(10, () => undefined);
        await assert.rejects(clock.runUntilIdle(100), SimClockStuckError);
    });
    it("reports a loop that holds virtual time still (nextTurn or an exchange re-queued forever)", async () => {
        const clock = new SimClock({ maxCallbacksPerInstant: 100 });
        let starved = false;
        clock.setTimer(1, () => (starved = true));
        let turns = 0;
        const spin = () => {
            turns += 1;
            clock.nextTurn(spin);
        };
        clock.nextTurn(spin);
        await assert.rejects(clock.advance(10), (err) => {
            assert.ok(err instanceof SimClockStuckError);
            assert.match(err.message, /livelock: 100 callbacks ran at virtual time 0 ms/);
            return true;
        });
        assert.equal(turns, 100);
        assert.equal(starved, false);
        // A callback count spread over moving time is no livelock.
        const busy = new SimClock({ maxCallbacksPerInstant: 100 });
        let fired = 0;
        busy.setRepeating(1, () => (fired += 1));
        await busy.advance(1_000);
        assert.equal(fired, 1_000);
    });
    it("runUntil steps to a condition or fails at its virtual deadline", async () => {
        const clock = new SimClock();
        let count = 0;
        clock.setRepeating(10, () => (count += 1));
        await clock.runUntil(() => count === 5, 1000);
        assert.equal(clock.monotonicMs(), 50);
        await assert.rejects(clock.runUntil(() => false, 100), SimClockStuckError);
        assert.ok(clock.monotonicMs() <= 150);
    });
});
//# sourceMappingURL=sim-clock.test.js.map
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronSyntaxError, MAX_TIMER_DELAY_MS, isValidCron, nextOccurrenceMs, parseCron, scheduleCron, } from "../../../src/platform/cron.js";
/**
 * A virtual clock for these tests: time moves only in advance(), which
 * fires due timers in time order (a test fixture, not the simulator's
 * SimClock).
 */
class VirtualClock {
    wallMs;
    timers = [];
    seq = 0;
    /** Delays asked of setTimer, for the long-wait test. */
    delaysMs = [];
    constructor(wallMs) {
        this.wallMs = wallMs;
    }
    nowMs() {
        return this.wallMs;
    }
    nowUs() {
        return this.wallMs * 1000;
    }
    monotonicMs() {
        return this.wallMs;
    }
    setTimer(delayMs, callback) {
        this.delaysMs.push(delayMs);
        const timer = { atMs: this.wallMs + delayMs, seq: this.seq++, callback, cancelled: false };
        this.timers.push(timer);
        const handle = {
            cancel: () => void (timer.cancelled = true),
            unref: () => handle,
        };
        return handle;
    }
    setRepeating() {
        throw new Error("not used by cron");
    }
    nextTurn(callback) {
        this.setTimer(0, callback);
    }
    sleep(delayMs) {
        return new Promise((resolve) => this.setTimer(delayMs, resolve));
    }
    timeoutSignal() {
        throw new Error("not used by cron");
    }
    get pendingTimers() {
        return this.timers.filter((t) => !t.cancelled).length;
    }
    /** Moves time forward by `ms`, firing every timer due on the way (and letting their promises settle). */
    async advance(ms) {
        const endMs = this.wallMs + ms;
        for (;;) {
            await settle();
            const live = this.timers.filter((t) => !t.cancelled && t.atMs <= endMs);
            if (live.length === 0)
                break;
            const next = live.reduce((a, b) => (a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq) ? a : b));
            next.cancelled = true;
            this.wallMs = Math.max(this.wallMs, next.atMs);
            next.callback();
        }
        this.timers = this.timers.filter((t) => !t.cancelled);
        this.wallMs = endMs;
        await settle();
    }
}
/** Lets pending promise callbacks run (a job's then/finally chain is a few microtasks long). */
async function settle() {
    for (let i = 0; i < 10; i++)
        await Promise.resolve();
}
/** Local time, as cron reads it. */
const local = (y, month, d, h = 0, min = 0, s = 0, ms = 0) => new Date(y, month - 1, d, h, min, s, ms).getTime();
describe("cron expressions", () => {
    it("accepts what the config accepted with node-cron", () => {
        for (const e of [
            "0 * * * *",
            "*/10 * * * *",
            "  0  *  * * *",
            "0 22-2 * * *",
            "0 0 * * 7",
            "0 0 * * MON-FRI",
            "0 0 * JAN,dec *",
            "0 0 ? * *",
            "1,2-5/2 * * * *",
            "5-5 * * * *",
            "*/61 * * * *",
            "* * * * * *",
            "@hourly",
            "@Daily",
            "0 0 * * sunday",
        ]) {
            assert.equal(isValidCron(e), true, e);
        }
    });
    it("refuses malformed, out-of-range and impossible expressions", () => {
        for (const e of [
            "",
            "* * * *",
            "0 * * * * * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "0 0 * * 8",
            "1-60 * * * *",
            "*/0 * * * *",
            "5/10 * * * *",
            "a * * * *",
            "0 0 31 2 *",
            "0 0 L * *",
            "0 0 * * 1#2",
        ]) {
            assert.equal(isValidCron(e), false, e);
        }
        assert.throws(() => parseCron("61 * * * *"), (err) => {
            assert.ok(err instanceof CronSyntaxError);
            assert.equal(err.code, "CRON_SYNTAX");
            assert.match(err.message, /minute 61 is outside 0\.\.59/);
            return true;
        });
    });
    it("expands steps, wrapping ranges, names and Sunday as 7", () => {
        const s = parseCron("*/20 22-2 * jan,Jul 7,mon");
        const set = (values) => values.flatMap((on, i) => (on ? [i] : []));
        assert.deepEqual(set(s.second), [0]);
        assert.deepEqual(set(s.minute), [0, 20, 40]);
        assert.deepEqual(set(s.hour), [0, 1, 2, 22, 23]);
        assert.deepEqual(set(s.month), [1, 7]);
        assert.deepEqual(set(s.dayOfWeek), [0, 1]);
        assert.equal(set(s.dayOfMonth).length, 31);
    });
});
describe("next occurrence (local time, strictly after)", () => {
    const next = (e, afterMs) => nextOccurrenceMs(parseCron(e), afterMs);
    it("finds the next matching minute, hour, day and month", () => {
        assert.equal(next("*/10 * * * *", local(2026, 1, 15, 10, 3, 20)), local(2026, 1, 15, 10, 10));
        assert.equal(next("0 * * * *", local(2026, 1, 15, 10, 0, 0)), local(2026, 1, 15, 11, 0));
        assert.equal(next("0 * * * *", local(2026, 1, 15, 23, 59, 59, 999)), local(2026, 1, 16, 0, 0));
        assert.equal(next("0 22-2 * * *", local(2026, 7, 15, 3, 0)), local(2026, 7, 15, 22, 0));
        assert.equal(next("30 12 1 * *", local(2026, 1, 31, 13, 0)), local(2026, 2, 1, 12, 30));
        assert.equal(next("0 0 1 1 *", local(2026, 6, 1)), local(2027, 1, 1));
        assert.equal(next("*/15 * * * * *", local(2026, 1, 15, 10, 0, 7, 500)), local(2026, 1, 15, 10, 0, 15));
    });
    it("needs day of month AND day of week, as node-cron", () => {
        // Friday the 13th: February 2026 is the first after January 1st 2026.
        const at = next("0 0 13 * fri", local(2026, 1, 1));
        assert.equal(at, local(2026, 2, 13));
        assert.equal(new Date(at).getDay(), 5);
        // The next Monday, 2026-01-19 (January 15th 2026 is a Thursday).
        assert.equal(next("0 9 * * mon", local(2026, 1, 15, 12)), local(2026, 1, 19, 9));
    });
    it("finds leap days years ahead", () => {
        assert.equal(next("30 12 29 2 *", local(2025, 3, 1)), local(2028, 2, 29, 12, 30));
    });
});
describe("scheduleCron on a virtual clock", () => {
    it("runs at every occurrence until stopped", async () => {
        const time = new VirtualClock(local(2026, 1, 15, 10, 3));
        const runs = [];
        const task = scheduleCron(time, parseCron("*/10 * * * *"), () => {
            runs.push(time.nowMs());
            return Promise.resolve();
        });
        await time.advance(60 * 60_000);
        assert.deepEqual(runs, [10, 20, 30, 40, 50, 60].map((m) => local(2026, 1, 15, 10, 0) + m * 60_000));
        task.stop();
        assert.equal(time.pendingTimers, 0, "stop cancels the armed timer");
        await time.advance(60 * 60_000);
        assert.equal(runs.length, 6, "no run after stop");
    });
    it("never overlaps runs: occurrences that pass during a run are skipped", async () => {
        const time = new VirtualClock(local(2026, 1, 15, 10, 0, 30));
        const started = [];
        let running = 0;
        const task = scheduleCron(time, parseCron("* * * * *"), async () => {
            assert.equal(running, 0, "runs overlap");
            running += 1;
            started.push(time.nowMs());
            await time.sleep(150_000); // 2.5 minutes
            running -= 1;
        });
        await time.advance(10 * 60_000);
        task.stop();
        const minutes = started.map((ms) => (ms - local(2026, 1, 15, 10, 0)) / 60_000);
        // Starts at 10:01, busy until 10:03:30, next at 10:04, ... every 3 minutes.
        assert.deepEqual(minutes, [1, 4, 7, 10]);
    });
    it("a failing job does not stop the schedule", async () => {
        const time = new VirtualClock(local(2026, 1, 15, 10, 0));
        let calls = 0;
        const task = scheduleCron(time, parseCron("0 * * * *"), () => {
            calls += 1;
            return Promise.reject(new Error("boom"));
        });
        await time.advance(3 * 60 * 60_000);
        task.stop();
        assert.equal(calls, 3);
    });
    it("waits longer than a Node timer can in several steps", async () => {
        const time = new VirtualClock(local(2026, 2, 1));
        const runs = [];
        const task = scheduleCron(time, parseCron("@yearly"), () => {
            runs.push(time.nowMs());
            return Promise.resolve();
        });
        await time.advance(local(2027, 1, 1, 0, 0, 1) - time.nowMs());
        task.stop();
        assert.deepEqual(runs, [local(2027, 1, 1)]);
        assert.ok(time.delaysMs.length > 1, "the wait was chained");
        assert.ok(time.delaysMs.every((d) => d <= MAX_TIMER_DELAY_MS), "no delay beyond what setTimeout can hold");
    });
});
//# sourceMappingURL=cron.test.js.map
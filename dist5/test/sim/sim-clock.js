/**
 * Virtual time for the simulator: a Clock (src/platform/clock.ts) whose
 * time moves only when the simulator says so, so a whole cluster's timers
 * run in one process in an order fixed by the seed, never by the machine.
 *
 * Contract:
 * - Monotonic time starts at 0 and moves only in runNext/advance/runFor.
 *   Wall time is `startWallMs` (a seeded epoch) plus monotonic time plus
 *   every stepWall() jump, so an NTP step moves wall time alone.
 * - Timers fire in order of due time, ties in order of scheduling: the
 *   same calls give the same order on every run. Delays follow Node's
 *   rules (below 1 ms, NaN or beyond 2^31 - 1 ms mean 1 ms), so a timer
 *   bug that Node would show, the simulator shows too.
 * - nextTurn callbacks run before the next timer, without moving time; the
 *   ones queued while a turn runs wait for the next turn (setImmediate).
 * - After every callback the microtask queue is drained (one real
 *   event-loop turn through systemClock.nextTurn), so the awaits a callback
 *   starts on simulated seams finish before the next callback runs.
 * - A callback that throws stops the run: runNext rejects with its error
 *   (in Node an uncaught exception ends the process; a simulation must not
 *   go on past it).
 * - unref() does not change when a timer fires; it only makes runUntilIdle
 *   stop with the timer still pending, as Node would exit with it pending.
 * - Callbacks take no virtual time, so a loop that never waits on a timer
 *   (a busy poll over a 0 ms network, nextTurn callbacks that queue more)
 *   holds time still forever: every timer starves, and what the loop
 *   allocates piles up. Beyond `maxCallbacksPerInstant` callbacks at one
 *   virtual time, runNext rejects with SimClockStuckError naming it (a
 *   simulated run sees tens at most; seed 90284 ran out of memory instead).
 */
import { abortReason, systemClock } from "../../src/platform/clock.js";
/** Node turns delays outside [1, 2^31 - 1] ms into 1 ms (with a warning). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** Default bound of callbacks run without virtual time moving (see the contract). */
export const DEFAULT_MAX_CALLBACKS_PER_INSTANT = 10_000;
/** 2020-01-01T00:00:00Z: the default epoch, so wall stamps look like real ones. */
export const DEFAULT_START_WALL_MS = 1_577_836_800_000;
export class SimClockStuckError extends Error {
    code = "ESIMSTUCK";
}
export class SimClock {
    monoMs = 0;
    wallOffsetMs;
    nextOrder = 0;
    /** Binary min-heap on (dueMs, order); cancelled timers are dropped lazily. */
    heap = [];
    turnQueue = [];
    /** Callbacks run so far (timers and turns): a cheap progress measure for the simulator. */
    callbacksRun = 0;
    maxCallbacksPerInstant;
    /** The virtual time of the last callback, and how many ran at it. */
    instantMs = -1;
    callbacksAtInstant = 0;
    constructor(options = {}) {
        this.wallOffsetMs = options.startWallMs ?? DEFAULT_START_WALL_MS;
        this.maxCallbacksPerInstant = options.maxCallbacksPerInstant ?? DEFAULT_MAX_CALLBACKS_PER_INSTANT;
    }
    nowMs() {
        return Math.floor(this.wallOffsetMs + this.monoMs);
    }
    nowUs() {
        return Math.floor((this.wallOffsetMs + this.monoMs) * 1000);
    }
    monotonicMs() {
        return this.monoMs;
    }
    setTimer(delayMs, callback) {
        return this.schedule(nodeDelayMs(delayMs), callback, undefined);
    }
    setRepeating(intervalMs, callback) {
        const interval = nodeDelayMs(intervalMs);
        return this.schedule(interval, callback, interval);
    }
    nextTurn(callback) {
        this.turnQueue.push(callback);
    }
    sleep(delayMs, signal) {
        return sleepOn(this, delayMs, signal);
    }
    timeoutSignal(delayMs) {
        return timeoutSignalOn(this, delayMs);
    }
    /** An NTP step: wall time jumps by `deltaMs` (negative: back), monotonic time does not move. */
    stepWall(deltaMs) {
        this.wallOffsetMs += deltaMs;
    }
    /** Timers not cancelled yet (ref'd or not). */
    get pendingTimers() {
        return this.heap.filter((t) => !t.cancelled).length;
    }
    /** Due time of the next timer, or undefined. */
    get nextDueMs() {
        return this.peek()?.dueMs;
    }
    /**
     * Runs the next step: the queued turn callbacks if any, else the next
     * timer (time jumps to its due time). Returns false when nothing is
     * scheduled. Rejects with the error of a callback that threw.
     */
    async runNext() {
        await drainMicrotasks();
        if (this.turnQueue.length > 0) {
            const turn = this.turnQueue;
            this.turnQueue = [];
            for (const callback of turn)
                await this.run(callback);
            return true;
        }
        const timer = this.pop();
        if (!timer)
            return false;
        this.monoMs = Math.max(this.monoMs, timer.dueMs);
        if (timer.intervalMs !== undefined) {
            timer.dueMs = this.monoMs + timer.intervalMs;
            timer.order = this.nextOrder++;
            this.push(timer);
        }
        await this.run(timer.callback);
        return true;
    }
    /** Runs everything due within the next `ms` milliseconds, then sets time to now + ms. */
    async advance(ms) {
        const targetMs = this.monoMs + ms;
        for (;;) {
            await drainMicrotasks();
            const next = this.peek();
            if (this.turnQueue.length === 0 && (!next || next.dueMs > targetMs))
                break;
            await this.runNext();
        }
        this.monoMs = Math.max(this.monoMs, targetMs);
    }
    /**
     * Runs until no turn callback and no ref'd timer is left (when a Node
     * process would exit). Throws SimClockStuckError after `maxSteps` steps:
     * a repeating ref'd timer never lets the simulation go idle.
     */
    async runUntilIdle(maxSteps = 100_000) {
        for (let step = 0;; step++) {
            await drainMicrotasks();
            const idle = this.turnQueue.length === 0 && !this.heap.some((t) => !t.cancelled && t.refed);
            if (idle)
                return;
            if (step >= maxSteps) {
                throw new SimClockStuckError(`not idle after ${maxSteps} steps (virtual time ${this.monoMs} ms, ${this.pendingTimers} timers)`);
            }
            await this.runNext();
        }
    }
    /** Steps until `condition` holds; throws SimClockStuckError if it does not within `maxMs` of virtual time. */
    async runUntil(condition, maxMs) {
        const deadlineMs = this.monoMs + maxMs;
        for (;;) {
            await drainMicrotasks();
            if (condition())
                return;
            const next = this.peek();
            const work = this.turnQueue.length > 0 || (next !== undefined && next.dueMs <= deadlineMs);
            if (!work) {
                throw new SimClockStuckError(`condition not met within ${maxMs} ms of virtual time`);
            }
            await this.runNext();
        }
    }
    async run(callback) {
        if (this.monoMs !== this.instantMs) {
            this.instantMs = this.monoMs;
            this.callbacksAtInstant = 0;
        }
        this.callbacksAtInstant += 1;
        if (this.callbacksAtInstant > this.maxCallbacksPerInstant) {
            throw new SimClockStuckError(`livelock: ${this.maxCallbacksPerInstant} callbacks ran at virtual time ${this.monoMs} ms and time ` +
                `never moved (a loop that does not wait on a timer; ${this.pendingTimers} timers starve)`);
        }
        this.callbacksRun += 1;
        callback();
        await drainMicrotasks();
    }
    schedule(delayMs, callback, intervalMs) {
        const timer = {
            dueMs: this.monoMs + delayMs,
            order: this.nextOrder++,
            callback,
            intervalMs,
            cancelled: false,
            refed: true,
        };
        this.push(timer);
        const handle = {
            cancel: () => {
                timer.cancelled = true;
            },
            unref: () => {
                timer.refed = false;
                return handle;
            },
        };
        return handle;
    }
    peek() {
        while (this.heap.length > 0 && this.heap[0].cancelled)
            this.removeTop();
        return this.heap[0];
    }
    pop() {
        const top = this.peek();
        if (top)
            this.removeTop();
        return top;
    }
    push(timer) {
        const heap = this.heap;
        heap.push(timer);
        let i = heap.length - 1;
        while (i > 0) {
            const parent = (i - 1) >> 1;
            if (!before(heap[i], heap[parent]))
                break;
            [heap[i], heap[parent]] = [heap[parent], heap[i]];
            i = parent;
        }
    }
    removeTop() {
        const heap = this.heap;
        const last = heap.pop();
        if (heap.length === 0)
            return;
        heap[0] = last;
        let i = 0;
        for (;;) {
            const left = 2 * i + 1;
            const right = left + 1;
            let smallest = i;
            if (left < heap.length && before(heap[left], heap[smallest]))
                smallest = left;
            if (right < heap.length && before(heap[right], heap[smallest]))
                smallest = right;
            if (smallest === i)
                return;
            [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
            i = smallest;
        }
    }
}
function before(a, b) {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}
function nodeDelayMs(delayMs) {
    return delayMs >= 1 && delayMs <= MAX_TIMER_DELAY_MS ? delayMs : 1;
}
/**
 * Lets every queued microtask (and the ones they queue) run: a real
 * event-loop turn runs only after the microtask queue is empty. The
 * simulated seams complete through microtasks only, so this is enough.
 */
export function drainMicrotasks() {
    return new Promise((resolve) => systemClock.nextTurn(resolve));
}
/** Clock.sleep on any clock's setTimer (the simulated clocks share it). */
export function sleepOn(time, delayMs, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(abortReason(signal));
            return;
        }
        const onAbort = () => {
            timer.cancel();
            reject(abortReason(signal));
        };
        const timer = time.setTimer(delayMs, () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        });
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}
/** Clock.timeoutSignal on any clock's setTimer. */
export function timeoutSignalOn(time, delayMs) {
    const controller = new AbortController();
    time.setTimer(delayMs, () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")));
    return controller.signal;
}
//# sourceMappingURL=sim-clock.js.map
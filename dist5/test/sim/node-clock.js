import { sleepOn, timeoutSignalOn } from "./sim-clock.js";
const DEAD_HANDLE = {
    cancel() { },
    unref() {
        return DEAD_HANDLE;
    },
};
export class NodeClock {
    sim;
    timers = new Set();
    halted = false;
    constructor(sim) {
        this.sim = sim;
    }
    nowMs() {
        return this.sim.nowMs();
    }
    nowUs() {
        return this.sim.nowUs();
    }
    monotonicMs() {
        return this.sim.monotonicMs();
    }
    setTimer(delayMs, callback) {
        if (this.halted)
            return DEAD_HANDLE;
        const handle = this.track(this.sim.setTimer(delayMs, () => {
            this.timers.delete(handle);
            callback();
        }));
        return handle;
    }
    setRepeating(intervalMs, callback) {
        if (this.halted)
            return DEAD_HANDLE;
        return this.track(this.sim.setRepeating(intervalMs, callback));
    }
    nextTurn(callback) {
        if (this.halted)
            return;
        this.sim.nextTurn(() => {
            if (!this.halted)
                callback();
        });
    }
    sleep(delayMs, signal) {
        return sleepOn(this, delayMs, signal);
    }
    timeoutSignal(delayMs) {
        return timeoutSignalOn(this, delayMs);
    }
    /** The process died: nothing it scheduled runs any more. */
    halt() {
        this.halted = true;
        for (const timer of this.timers)
            timer.cancel();
        this.timers.clear();
    }
    track(handle) {
        const wrapped = {
            cancel: () => {
                this.timers.delete(wrapped);
                handle.cancel();
            },
            unref: () => {
                handle.unref();
                return wrapped;
            },
        };
        this.timers.add(wrapped);
        return wrapped;
    }
}
//# sourceMappingURL=node-clock.js.map
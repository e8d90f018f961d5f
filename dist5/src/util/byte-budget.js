/**
 * A bound on bytes in flight (and on requests in flight), waited on in
 * FIFO order: `acquire` resolves once the bytes fit, `release` gives them
 * back. One acquisition larger than the whole budget is let through alone,
 * so a single big item never deadlocks.
 */
import { deferred } from "./deferred.js";
export class ByteBudget {
    maxBytes;
    maxSlots;
    usedBytes = 0;
    usedSlots = 0;
    waiters = [];
    constructor(maxBytes, maxSlots = Number.MAX_SAFE_INTEGER) {
        this.maxBytes = maxBytes;
        this.maxSlots = maxSlots;
    }
    get inFlightBytes() {
        return this.usedBytes;
    }
    /** Resolves once `bytes` fit; rejects if `signal` aborts first (nothing is then held). */
    acquire(bytes, signal) {
        if (this.waiters.length === 0 && this.fits(bytes)) {
            this.take(bytes);
            return Promise.resolve();
        }
        const ready = deferred();
        const entry = { bytes, ready };
        this.waiters.push(entry);
        signal?.addEventListener("abort", () => {
            const i = this.waiters.indexOf(entry);
            if (i >= 0) {
                this.waiters.splice(i, 1);
                ready.reject(signal.reason);
                this.grant();
            }
        }, { once: true });
        return ready.promise;
    }
    release(bytes) {
        this.usedBytes -= bytes;
        this.usedSlots -= 1;
        this.grant();
    }
    fits(bytes) {
        if (this.usedSlots >= this.maxSlots)
            return false;
        return this.usedBytes === 0 || this.usedBytes + bytes <= this.maxBytes;
    }
    take(bytes) {
        this.usedBytes += bytes;
        this.usedSlots += 1;
    }
    grant() {
        for (let head = this.waiters[0]; head && this.fits(head.bytes); head = this.waiters[0]) {
            this.waiters.shift();
            this.take(head.bytes);
            head.ready.resolve();
        }
    }
}
//# sourceMappingURL=byte-budget.js.map
/**
 * The node's bound on syncs copying at once (sync.maxConcurrent): each
 * sync holds a slot while it copies, retries included, and gives it back
 * when it is done, stopped or paused; the others wait in FIFO order
 * ("queued" in status). So a node that many members sync from, or that
 * resyncs many resources after an outage, spreads its disk and link over
 * a few syncs at a time instead of thrashing both.
 */
import { ByteBudget } from "../util/byte-budget.js";
export class SyncSlots {
    limit;
    observer;
    budget;
    copying = 0;
    queued = 0;
    constructor(limit, observer) {
        this.limit = limit;
        this.observer = observer;
        this.budget = new ByteBudget(Number.MAX_SAFE_INTEGER, limit);
        this.publish();
    }
    /** Waits for a slot; returns its release (idempotent). Rejects if `signal` aborts first. */
    async acquire(signal) {
        this.queued += 1;
        this.publish();
        try {
            await this.budget.acquire(0, signal);
        }
        finally {
            this.queued -= 1;
        }
        this.copying += 1;
        this.publish();
        let held = true;
        return () => {
            if (!held)
                return;
            held = false;
            this.copying -= 1;
            this.budget.release(0);
            this.publish();
        };
    }
    publish() {
        this.observer.changed(this.copying, this.queued, this.limit);
    }
}
//# sourceMappingURL=sync-slots.js.map
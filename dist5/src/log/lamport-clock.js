/**
 * The Lamport clock (MARS `lamport.c`, rebuilt).
 *
 * Stamps are integer microseconds since the Unix epoch, so they read as the
 * system time, fit a double exactly until the year 2255, and order every
 * event of the cluster: each log record, each state entry, each peer message.
 *
 * Rules:
 * - a stamp is max(system time, newest stamp issued or observed + 1): the
 *   clock never goes behind anything it has seen, and is strictly increasing;
 * - when a peer's stamp is ahead of our system time, we count on from it in
 *   1 µs steps, i.e. we "wait" for the system time to catch up instead of
 *   jumping away from it;
 * - a stamp further ahead of our system time than `maxFutureUs` is refused
 *   (a peer with a broken clock or a corrupt message must not drag the whole
 *   cluster into the future; MARS clamps at 30 days, we refuse and report).
 */
export const DEFAULT_MAX_FUTURE_US = 10 * 60 * 1_000_000;
export class LamportClock {
    wall;
    maxFutureUs;
    lastUs = 0;
    constructor(options) {
        this.wall = options.wall;
        this.maxFutureUs = options.maxFutureUs ?? DEFAULT_MAX_FUTURE_US;
    }
    /** Issue a new stamp, strictly greater than every stamp issued or observed before. */
    now() {
        const next = Math.max(this.wall.nowUs(), this.lastUs + 1);
        this.lastUs = next;
        return next;
    }
    /** The newest stamp issued or observed, without advancing. */
    latest() {
        return Math.max(this.lastUs, this.wall.nowUs());
    }
    /**
     * Take a stamp seen in a message or entry into account. Returns false (and
     * changes nothing) if the stamp is not a plausible time: negative, not an
     * integer, or too far ahead of our wall clock.
     */
    observe(stampUs) {
        if (!this.isPlausible(stampUs))
            return false;
        if (stampUs > this.lastUs)
            this.lastUs = stampUs;
        return true;
    }
    /**
     * Takes this node's own persisted history into account (state entries,
     * log records written before a restart). No plausibility bound: stamps we
     * issued ourselves must never be issued again, even if the wall clock was
     * stepped back by more than maxFutureUs while we were down.
     */
    restore(stampUs) {
        if (Number.isSafeInteger(stampUs) && stampUs > this.lastUs)
            this.lastUs = stampUs;
    }
    isPlausible(stampUs) {
        return Number.isSafeInteger(stampUs) && stampUs >= 0 && stampUs - this.wall.nowUs() <= this.maxFutureUs;
    }
    /** How far the Lamport time is ahead of the wall clock (0 when in step). */
    aheadOfWallUs() {
        return Math.max(0, this.lastUs - this.wall.nowUs());
    }
}
//# sourceMappingURL=lamport-clock.js.map
/**
 * The NBD server's memory budget shared by all its connections: bytes
 * received and not yet parsed, plus bytes reserved by requests whose reply
 * has not been flushed to the socket yet (a READ's data, a WRITE's payload).
 *
 * Contract: `usedBytes` never exceeds `limitBytes` by more than one request
 * (a connection admits a request while the total is below the limit, or
 * when nothing is reserved anywhere, so the server always makes progress).
 * Connections that could not admit a request, or stopped reading, wait in
 * `blocked` and are woken whenever bytes are released.
 *
 * When the budget is exhausted by unparsed bytes alone (partly received
 * WRITEs, nothing reserved, so nothing will be released), one connection,
 * the "rescuer", may read on up to its own budget so its request completes
 * and is admitted; without it, well-behaved clients could wait on each
 * other forever. The total then exceeds the limit by at most one
 * connection's budget.
 *
 * Trade-off: a client that never reads its replies keeps its reserved
 * bytes until it disconnects; the per-connection budget bounds how much of
 * this budget one connection can hold, and while others wait the server
 * closes connections whose replies have not moved for a while (server.ts).
 */
export class ByteBudget {
    limitBytes;
    onChange;
    onStarved;
    used = 0;
    reserved = 0;
    blocked = new Set();
    rescuer;
    constructor(limitBytes, onChange = () => undefined, 
    /** A connection waits for this budget (the server may close stalled holders). */
    onStarved = () => undefined) {
        this.limitBytes = limitBytes;
        this.onChange = onChange;
        this.onStarved = onStarved;
    }
    /** Whether any connection waits for a release. */
    get starved() {
        return this.blocked.size > 0;
    }
    get usedBytes() {
        return this.used;
    }
    /** Bytes held by requests (excluding unparsed input); 0 means nobody can release anything. */
    get reservedBytes() {
        return this.reserved;
    }
    get exhausted() {
        return this.used >= this.limitBytes;
    }
    /** Whether a request of `costBytes` may start now. */
    admits(costBytes) {
        return this.reserved === 0 || this.used + costBytes <= this.limitBytes;
    }
    /** Adjusts the total by signed deltas; releases wake every blocked connection. */
    adjust(usedDeltaBytes, reservedDeltaBytes) {
        if (usedDeltaBytes === 0 && reservedDeltaBytes === 0)
            return;
        this.used += usedDeltaBytes;
        this.reserved += reservedDeltaBytes;
        this.onChange(this.used);
        // Any release may unblock someone: room below the limit, or nothing reserved any more.
        if ((usedDeltaBytes < 0 || reservedDeltaBytes < 0) && this.blocked.size > 0) {
            const wake = [...this.blocked];
            this.blocked.clear();
            for (const w of wake)
                w();
        }
    }
    /** Whether `owner` may read on although the budget is exhausted (see the rescuer above). */
    mayReadWhileExhausted(owner) {
        if (this.reserved > 0)
            return false;
        if (this.rescuer !== undefined && this.rescuer !== owner)
            return false;
        this.rescuer = owner;
        return true;
    }
    /** `owner` got a request admitted or closed: another connection may be the rescuer next time. */
    endRescue(owner) {
        if (this.rescuer === owner)
            this.rescuer = undefined;
    }
    /** Calls `wake` once after the next release (a connection blocked on this budget). */
    waitForRelease(wake) {
        this.blocked.add(wake);
        this.onStarved();
    }
    forget(wake) {
        this.blocked.delete(wake);
    }
}
//# sourceMappingURL=byte-budget.js.map
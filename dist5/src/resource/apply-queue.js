import { deferred } from "../util/deferred.js";
/** Bounds of one group, so the applied position advances in steps of bounded size. */
const MAX_GROUP_OPS = 256;
const MAX_GROUP_BYTES = 8 * 1024 * 1024;
export class ApplyQueue {
    time;
    backing;
    onApplied;
    /** Issued and not yet handed to the disk; they form the next group. */
    pending = [];
    pendingDone;
    writing;
    flushScheduled = false;
    applied;
    failure;
    queuedOps = 0;
    queuedBytes = 0;
    constructor(time, backing, initialPosition, 
    /** Called whenever the applied position moves (metrics; the checkpointer polls instead). */
    onApplied) {
        this.time = time;
        this.backing = backing;
        this.onApplied = onApplied;
        this.applied = initialPosition;
    }
    /** Every record before this point is on the backing disk. */
    get appliedPosition() {
        return this.applied;
    }
    /** Operations issued and not yet on the disk. */
    get inFlightCount() {
        return this.queuedOps;
    }
    /** Bytes of the operations issued and not yet on the disk. */
    get inFlightBytes() {
        return this.queuedBytes;
    }
    /**
     * Resolves when every operation issued so far that overlaps the range is
     * on the disk, and rejects if writing one of them failed (undefined if
     * none overlaps, so the caller can skip an await). Reads call this: a
     * write is acknowledged once it is in the log, possibly before it reached
     * the disk, and a read must still return it.
     */
    rangeApplied(offsetBytes, lengthBytes) {
        // Groups complete in order: the latest group with an overlap is the one to wait for.
        if (this.pendingDone && overlapsAny(this.pending, offsetBytes, lengthBytes)) {
            return this.pendingDone.promise;
        }
        if (this.writing && overlapsAny(this.writing.entries, offsetBytes, lengthBytes)) {
            return this.writing.done.promise;
        }
        return undefined;
    }
    /**
     * Issues one operation; `position` is the log point just behind its
     * record(s), recorded once it and everything before it is applied. The
     * promise (shared by the operation's group) resolves once it is on the
     * disk.
     */
    apply(op, position) {
        if (this.failure)
            return Promise.reject(this.failure);
        this.queuedOps += 1;
        this.queuedBytes += op.lengthBytes;
        return this.enqueue({ op, position });
    }
    /**
     * Moves the applied position past log records that change nothing on the
     * disk (a file header): at once if nothing is queued, else once everything
     * issued before has landed.
     */
    markApplied(position) {
        if (this.failure)
            return;
        if (!this.writing && this.pending.length === 0) {
            this.advance(position);
            return;
        }
        void this.enqueue({ op: undefined, position }).catch(() => undefined);
    }
    /** Resolves when everything issued so far has been written (or has failed). */
    async idle() {
        while (this.writing || this.pending.length > 0) {
            await (this.pendingDone ?? this.writing?.done)?.promise.catch(() => undefined);
        }
    }
    enqueue(entry) {
        this.pending.push(entry);
        if (!this.pendingDone) {
            this.pendingDone = deferred();
            // Callers see the failure through their own handlers; none is needed here.
            this.pendingDone.promise.catch(() => undefined);
        }
        if (!this.writing && !this.flushScheduled) {
            // Gather what the rest of this event-loop turn issues into the same
            // group, and start it one turn later: both frontends send their
            // acknowledgements from the next turn (setImmediate), and those should go out before
            // the hand-off to the disk worker, whose wake-up is not cheap
            // (measured: 4k QD1 write latency ~255 -> ~245 us, fsync=1 QD1
            // ~260 -> ~212 us).
            this.flushScheduled = true;
            this.time.nextTurn(() => this.time.nextTurn(() => {
                this.flushScheduled = false;
                this.writeNextGroup();
            }));
        }
        return this.pendingDone.promise;
    }
    writeNextGroup() {
        if (this.writing || this.failure || this.pending.length === 0)
            return;
        const entries = this.pending.splice(0, groupSize(this.pending));
        let done;
        if (this.pending.length === 0) {
            done = this.pendingDone;
            this.pendingDone = undefined;
        }
        else {
            // Part of the pending lot: its callers hold pendingDone and are
            // answered with the later group (late, never early).
            done = deferred();
            done.promise.catch(() => undefined);
        }
        const group = { entries, done };
        this.writing = group;
        const ranges = [];
        for (const e of entries)
            if (e.op)
                ranges.push(e.op);
        this.backing.writeRanges(ranges).then(() => this.finish(group), (err) => this.fail(group, err));
    }
    finish(group) {
        this.writing = undefined;
        let last;
        for (const e of group.entries) {
            if (e.op) {
                this.queuedOps -= 1;
                this.queuedBytes -= e.op.lengthBytes;
            }
            if (e.position)
                last = e.position;
        }
        if (last)
            this.advance(last);
        group.done.resolve();
        this.writeNextGroup();
    }
    fail(group, err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.writing = undefined;
        this.pending = [];
        this.queuedOps = 0;
        this.queuedBytes = 0;
        group.done.reject(this.failure);
        this.pendingDone?.reject(this.failure);
        this.pendingDone = undefined;
    }
    advance(position) {
        this.applied = position;
        this.onApplied?.(position);
    }
}
/** How many pending entries the next group takes (at least one). */
function groupSize(pending) {
    let count = 0;
    let bytes = 0;
    for (const e of pending) {
        const length = e.op?.data ? e.op.lengthBytes : 0;
        if (count > 0 && (count >= MAX_GROUP_OPS || bytes + length > MAX_GROUP_BYTES))
            break;
        count += 1;
        bytes += length;
    }
    return count;
}
function overlapsAny(entries, offsetBytes, lengthBytes) {
    const end = offsetBytes + lengthBytes;
    for (const e of entries) {
        const op = e.op;
        if (op && op.offsetBytes < end && offsetBytes < op.offsetBytes + op.lengthBytes)
            return true;
    }
    return false;
}
//# sourceMappingURL=apply-queue.js.map
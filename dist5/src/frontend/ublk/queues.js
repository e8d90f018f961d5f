/**
 * The JS side of a device's hardware queues. The native threads deliver
 * completed fetches in batches (one callback per batch, not per IO); each
 * IO is served concurrently by the handler, and results are handed back in
 * batches too: every result that becomes ready in the same turn of the
 * event loop goes back to the native thread in one call.
 *
 * Buffers: each queue's data buffers are one ArrayBuffer over memory the
 * addon mapped; tag t owns bytes [t * bufBytes, (t + 1) * bufBytes). The
 * kernel copies WRITE data there before the IO arrives and copies READ data
 * out after the result is committed, so nothing is copied in JS.
 */
import { constants } from "node:os";
import { QueueEventKind, UblkError } from "./native.js";
import { UNOBSERVED } from "./observer.js";
const { EINVAL } = constants.errno;
export class UblkQueueSet {
    addon;
    shape;
    handler;
    log;
    time;
    observer;
    native;
    tagBuffers = [];
    pending;
    flushScheduled = false;
    ready = 0;
    exited = 0;
    startWaiter;
    allExited;
    resolveExited;
    closing = false;
    /** IOs handed to JS whose result has not been handed back yet. */
    inFlight = 0;
    constructor(addon, shape, handler, log, time, observer = UNOBSERVED) {
        this.addon = addon;
        this.shape = shape;
        this.handler = handler;
        this.log = log;
        this.time = time;
        this.observer = observer;
        this.pending = Array.from({ length: shape.queues }, () => []);
        this.allExited = new Promise((resolve) => (this.resolveExited = resolve));
    }
    /**
     * Opens the queues; resolves once every queue thread has posted a fetch
     * for each of its tags (the precondition of START_DEV and
     * END_USER_RECOVERY, which block until then).
     */
    start() {
        const { devId, queues, depth, bufBytes } = this.shape;
        const native = new this.addon.Queues(devId, queues, depth, bufBytes, (qid, kind, ios, message) => this.onEvent(qid, kind, ios, message));
        const started = new Promise((resolve, reject) => (this.startWaiter = { resolve, reject }));
        const regions = native.start(); // throws (ENOENT...) before any thread exists
        this.native = native;
        this.tagBuffers = regions.map((region) => Array.from({ length: depth }, (_, tag) => new Uint8Array(region, tag * bufBytes, bufBytes)));
        return started;
    }
    /** Resolves when every queue thread has ended (after STOP_DEV aborted all fetches). */
    whenExited() {
        return this.allExited;
    }
    /** Says that the threads are about to end on purpose (STOP_DEV follows). */
    expectExit() {
        this.closing = true;
    }
    /** Stops the threads (if still running) and releases /dev/ublkcN. */
    async close() {
        this.closing = true;
        const native = this.native;
        this.native = undefined;
        if (native)
            await native.close();
    }
    onEvent(qid, kind, ios, message) {
        switch (kind) {
            case QueueEventKind.IO:
                if (ios)
                    this.serveBatch(qid, ios);
                return;
            case QueueEventKind.READY:
                this.ready += 1;
                if (this.ready === this.shape.queues) {
                    this.observer.queuesStarted(this.shape.queues, this.shape.depth);
                    this.startWaiter?.resolve();
                }
                return;
            case QueueEventKind.ERROR:
                if (this.ready < this.shape.queues && this.startWaiter) {
                    this.startWaiter.reject(new UblkError(`ublk queue ${qid} of device ${this.shape.devId}: ${message}`));
                }
                else {
                    this.log("error", "ublk queue error", { devId: this.shape.devId, qid, message });
                }
                return;
            case QueueEventKind.EXIT:
                this.exited += 1;
                if (!this.closing && this.ready === this.shape.queues) {
                    this.log("warn", "ublk queue thread ended", { devId: this.shape.devId, qid });
                }
                if (this.exited === this.shape.queues)
                    this.resolveExited();
                return;
        }
    }
    serveBatch(qid, ios) {
        const buffers = this.tagBuffers[qid];
        for (let i = 0; i + 3 < ios.length; i += 4) {
            const tag = ios[i];
            const buffer = buffers?.[tag];
            const opFlags = ios[i + 1];
            const startedMs = this.time.monotonicMs();
            this.inFlight += 1;
            this.observer.requestStarted();
            const done = (result) => {
                this.observer.requestFinished(opFlags & 0xff, result, (this.time.monotonicMs() - startedMs) / 1000);
                this.finish(qid, tag, result);
            };
            if (!buffer) {
                // Cannot happen with a sane kernel; answered rather than left hanging.
                done(-EINVAL);
                continue;
            }
            void this.handler
                .serve({
                opFlags,
                nrSectors: ios[i + 2],
                startSector: ios[i + 3],
                buffer,
            })
                .then(done);
        }
    }
    finish(qid, tag, result) {
        this.inFlight -= 1;
        this.pending[qid]?.push(tag, result);
        if (!this.flushScheduled) {
            this.flushScheduled = true;
            // After the current microtasks: results of one log group commit resolve together.
            this.time.nextTurn(() => this.flushResults());
        }
    }
    flushResults() {
        this.flushScheduled = false;
        const native = this.native;
        for (let qid = 0; qid < this.pending.length; qid++) {
            const results = this.pending[qid];
            if (results.length === 0)
                continue;
            this.pending[qid] = [];
            if (!native)
                continue; // closed: the device is gone, nobody waits
            try {
                native.complete(qid, Int32Array.from(results));
            }
            catch (err) {
                this.log("error", "ublk result not accepted", { devId: this.shape.devId, qid, err });
            }
        }
    }
}
//# sourceMappingURL=queues.js.map
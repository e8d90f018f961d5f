/**
 * A small pool of worker threads that write batches of ranges to files.
 *
 * Why: applying logged writes to the backing disk is one pwrite per write.
 * Through libuv's thread pool each one costs the main thread a request
 * object, a queue hand-off, a wake-up and a completion callback, which on
 * the 4k random-write benchmark halved the IOPS the log alone sustains.
 * Here the main thread copies a batch's payloads into one buffer, transfers
 * it with one message, and gets one answer per batch; the pwrites run
 * synchronously in the worker.
 *
 * Ranges of a batch end up as if written in order (a later range wins
 * where two overlap); batches of different callers may run in parallel on
 * different workers, so callers order their own batches (ApplyQueue sends
 * one at a time). File descriptors are shared by all threads of the
 * process, so the workers write through the caller's descriptors; the
 * caller must not close them while a batch is in flight (NodeFile waits).
 *
 * Ranges aligned to DIRECT_IO_ALIGN_BYTES go through the caller's O_DIRECT
 * descriptor when it has one (see docs/performance.md for why), staged in
 * page-aligned memory in the worker.
 */
import { Worker } from "node:worker_threads";
/** Workers in the pool; each runs one batch at a time. */
export const RANGE_WRITER_WORKERS = 4;
/** A batch is split between workers only into slices of at least this many ranges (each slice costs a message). */
const MIN_RANGES_PER_SLICE = 4;
/** Buffers kept for reuse: allocating one per batch (up to 8 MiB) kept V8's GC busy. */
const SPARE_BUFFERS = 4;
const MAX_SPARE_BUFFER_BYTES = 16 * 1024 * 1024;
class PoolWorker {
    worker;
    recycle;
    pending = new Map();
    broken;
    constructor(worker, recycle) {
        this.worker = worker;
        this.recycle = recycle;
        worker.unref();
        worker.on("message", (result) => this.settle(result));
        // A worker that dies takes its batches with it: they failed (never retried).
        worker.on("error", (err) => this.breakWith(err));
        worker.on("exit", (code) => this.breakWith(new Error(`range writer worker exited with code ${code}`)));
    }
    send(message, pending) {
        if (this.broken) {
            pending.reject(this.broken);
            return;
        }
        // Referenced while it has work, so a process waiting only on it stays alive.
        if (this.pending.size === 0)
            this.worker.ref();
        this.pending.set(message.id, pending);
        this.worker.postMessage(message, [message.buffer]);
    }
    get usable() {
        return this.broken === undefined;
    }
    settle(result) {
        this.recycle(result.buffer);
        const pending = this.pending.get(result.id);
        if (!pending)
            return;
        this.pending.delete(result.id);
        if (this.pending.size === 0)
            this.worker.unref();
        if (result.error)
            pending.reject(Object.assign(new Error(result.error.message), result.error));
        else
            pending.resolve({ directRefused: result.directRefused });
    }
    breakWith(err) {
        this.broken ??= err;
        for (const p of this.pending.values())
            p.reject(err);
        this.pending.clear();
    }
}
class RangeWriterPool {
    workers = [];
    spareBuffers = [];
    nextId = 1;
    /**
     * Writes the ranges to `fd` in order; resolves when all are written (not
     * synced). Ranges that do not overlap may be written in any order, so a
     * batch without overlaps is split between workers: O_DIRECT writes wait
     * for the device, and one thread writing them one after the other would
     * bound the whole volume's write rate by the device's latency.
     */
    write(fd, directFd, ranges) {
        const sliceCount = Math.min(RANGE_WRITER_WORKERS, Math.floor(ranges.length / MIN_RANGES_PER_SLICE));
        if (sliceCount < 2 || anyOverlap(ranges))
            return this.writeSlice(fd, directFd, ranges);
        const sliceLength = Math.ceil(ranges.length / sliceCount);
        const slices = [];
        for (let at = 0; at < ranges.length; at += sliceLength) {
            slices.push(this.writeSlice(fd, directFd, ranges.slice(at, at + sliceLength)));
        }
        return Promise.all(slices).then((outcomes) => ({ directRefused: outcomes.some((o) => o.directRefused) }));
    }
    writeSlice(fd, directFd, ranges) {
        const offsets = new Float64Array(ranges.length);
        const lengths = new Float64Array(ranges.length);
        const hasData = new Uint8Array(ranges.length);
        let dataBytes = 0;
        for (const r of ranges)
            if (r.data)
                dataBytes += r.data.length;
        // One compact buffer: a payload is often a view into a larger socket
        // chunk, which structured cloning would copy whole.
        const buffer = this.takeBuffer(dataBytes);
        const bytes = new Uint8Array(buffer);
        let at = 0;
        ranges.forEach((r, i) => {
            offsets[i] = r.offsetBytes;
            lengths[i] = r.lengthBytes;
            if (r.data) {
                bytes.set(r.data, at);
                at += r.data.length;
                hasData[i] = 1;
            }
        });
        const message = { id: this.nextId++, fd, directFd, offsets, lengths, hasData, buffer };
        return new Promise((resolve, reject) => this.pick().send(message, { resolve, reject }));
    }
    /** A spare buffer of at least `bytes` (the worker writes only the ranges' lengths of it), or a new one. */
    takeBuffer(bytes) {
        const i = this.spareBuffers.findIndex((b) => b.byteLength >= bytes);
        if (i >= 0)
            return this.spareBuffers.splice(i, 1)[0];
        // Rounded up to a power of two (at least 64 KiB) so that buffers fit later batches.
        return new ArrayBuffer(Math.max(65536, 2 ** Math.ceil(Math.log2(Math.max(1, bytes)))));
    }
    recycleBuffer(buffer) {
        if (buffer.byteLength > MAX_SPARE_BUFFER_BYTES)
            return;
        if (this.spareBuffers.length >= SPARE_BUFFERS) {
            // Keep the largest ones: they serve every batch.
            const smallest = this.spareBuffers.reduce((a, b, i, all) => (b.byteLength < all[a].byteLength ? i : a), 0);
            if (this.spareBuffers[smallest].byteLength >= buffer.byteLength)
                return;
            this.spareBuffers.splice(smallest, 1);
        }
        this.spareBuffers.push(buffer);
    }
    /** The least busy usable worker; workers start on first use and replace broken ones. */
    pick() {
        for (let i = this.workers.length - 1; i >= 0; i--) {
            if (!this.workers[i].usable)
                this.workers.splice(i, 1);
        }
        let best;
        for (const w of this.workers)
            if (!best || w.pending.size < best.pending.size)
                best = w;
        if (best && (best.pending.size === 0 || this.workers.length >= RANGE_WRITER_WORKERS))
            return best;
        const worker = new PoolWorker(new Worker(new URL("./range-writer-worker.js", import.meta.url)), (b) => this.recycleBuffer(b));
        this.workers.push(worker);
        return worker;
    }
}
/** Whether any two of the ranges share a byte (exported for tests). */
export function anyOverlap(ranges) {
    const byStart = ranges
        .map((r) => ({ start: r.offsetBytes, end: r.offsetBytes + r.lengthBytes }))
        .sort((a, b) => a.start - b.start);
    // Sorted by start, an overlap always shows between neighbours.
    let previousEnd = -Infinity;
    for (const { start, end } of byStart) {
        if (start < previousEnd)
            return true;
        previousEnd = end;
    }
    return false;
}
/** The process-wide pool (workers are started lazily and do not keep the process alive when idle). */
export const rangeWriterPool = new RangeWriterPool();
//# sourceMappingURL=range-writer-pool.js.map
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
 * Ranges of a batch are written in order (a later range wins where two
 * overlap); batches of different callers may run in parallel on different
 * workers, so callers order their own batches (ApplyQueue sends one at a
 * time). File descriptors are shared by all threads of the process, so the
 * worker writes through the caller's descriptor; the caller must not close
 * it while a batch is in flight (NodeFile waits).
 */
import { Worker } from "node:worker_threads";
import type { WriteRange } from "./types.js";

/** Workers in the pool; each runs one batch at a time. */
export const RANGE_WRITER_WORKERS = 2;

export interface RangeBatchMessage {
  id: number;
  fd: number;
  offsets: Float64Array;
  lengths: Float64Array;
  /** 1 where the range has data (taken in order from `buffer`), 0 for zeroes. */
  hasData: Uint8Array;
  buffer: ArrayBuffer;
}

export interface RangeBatchResult {
  id: number;
  error?: { message: string; code?: string; errno?: number; syscall?: string };
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  private broken: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on("message", (result: RangeBatchResult) => this.settle(result));
    // A worker that dies takes its batches with it: they failed (never retried).
    worker.on("error", (err) => this.breakWith(err));
    worker.on("exit", (code) => this.breakWith(new Error(`range writer worker exited with code ${code}`)));
  }

  send(message: RangeBatchMessage, pending: Pending): void {
    if (this.broken) {
      pending.reject(this.broken);
      return;
    }
    // Referenced while it has work, so a process waiting only on it stays alive.
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(message.id, pending);
    this.worker.postMessage(message, [message.buffer]);
  }

  get usable(): boolean {
    return this.broken === undefined;
  }

  private settle(result: RangeBatchResult): void {
    const pending = this.pending.get(result.id);
    if (!pending) return;
    this.pending.delete(result.id);
    if (this.pending.size === 0) this.worker.unref();
    if (result.error) pending.reject(Object.assign(new Error(result.error.message), result.error));
    else pending.resolve();
  }

  private breakWith(err: Error): void {
    this.broken ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

class RangeWriterPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;

  /** Writes the ranges to `fd` in order; resolves when all are written (not synced). */
  write(fd: number, ranges: readonly WriteRange[]): Promise<void> {
    const offsets = new Float64Array(ranges.length);
    const lengths = new Float64Array(ranges.length);
    const hasData = new Uint8Array(ranges.length);
    let dataBytes = 0;
    for (const r of ranges) if (r.data) dataBytes += r.data.length;
    // One compact buffer: a payload is often a view into a larger socket
    // chunk, which structured cloning would copy whole.
    const buffer = new ArrayBuffer(dataBytes);
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
    const message: RangeBatchMessage = { id: this.nextId++, fd, offsets, lengths, hasData, buffer };
    return new Promise((resolve, reject) => this.pick().send(message, { resolve, reject }));
  }

  /** The least busy usable worker; workers start on first use and replace broken ones. */
  private pick(): PoolWorker {
    for (let i = this.workers.length - 1; i >= 0; i--) {
      if (!(this.workers[i] as PoolWorker).usable) this.workers.splice(i, 1);
    }
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!best || w.pending.size < best.pending.size) best = w;
    if (best && (best.pending.size === 0 || this.workers.length >= RANGE_WRITER_WORKERS)) return best;
    const worker = new PoolWorker(new Worker(new URL("./range-writer-worker.js", import.meta.url)));
    this.workers.push(worker);
    return worker;
  }
}

/** The process-wide pool (workers are started lazily and do not keep the process alive when idle). */
export const rangeWriterPool = new RangeWriterPool();

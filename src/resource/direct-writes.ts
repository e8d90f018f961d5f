/**
 * The primary's write path in emergency mode: the log area is full, so
 * writes go straight to the backing disk, and the regions they touch are
 * recorded in the dirty-region map (the members copy exactly those regions
 * once logging is back: a region resync).
 *
 * Contract:
 * - A write is acknowledged only once its map bit and its data are durable:
 *   the bit first (a crash between the two leaves a region marked that did
 *   not change, which costs a copy, never a forgotten region), then the
 *   data with an fdatasync of the disk. Concurrent writes share one
 *   fdatasync (group commit), so the cost per write stays near one disk
 *   write plus a share of a sync; FLUSH and FUA need nothing more.
 * - A failed write or fdatasync is never retried on the same descriptor:
 *   the path fails for good, every waiting and later write is rejected,
 *   and the owner fails the resource (it recovers from what is on disk).
 * - In-flight writes are bounded by the frontends' queue depths (each
 *   request holds its own buffer); idle() waits for them.
 */
import type { RandomAccessFile } from "../platform/storage/types.js";
import { deferred, type Deferred } from "../util/deferred.js";

/** What direct writes need of the dirty-region map (resource/dirty-map.ts). */
export interface RegionMarker {
  /** Resolves once every bit covering the range is durable. */
  mark(offsetBytes: number, lengthBytes: number): Promise<void>;
}

export interface DirectWriteObserver {
  /** One fdatasync of the disk covered `writes` writes. */
  synced(writes: number, durationMs: number): void;
}

/** Zero ranges are written in pieces of this size (bounded memory per request). */
const ZERO_PIECE_BYTES = 1024 * 1024;
const ZEROES = new Uint8Array(ZERO_PIECE_BYTES);

export class DirectWrites {
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  /** Writes whose data is written, waiting for the next fdatasync. */
  private waiting: Array<Deferred<void>> = [];
  private syncing = false;

  constructor(
    private readonly disk: RandomAccessFile,
    private readonly map: RegionMarker,
    private readonly now: () => number,
    private readonly observer?: DirectWriteObserver,
  ) {}

  get failed(): Error | undefined {
    return this.failure;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Writes `data` (or zeroes, without data) durably; resolves when it may be acknowledged. */
  async write(op: { offsetBytes: number; lengthBytes: number; data?: Uint8Array }): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight += 1;
    try {
      await this.map.mark(op.offsetBytes, op.lengthBytes);
      this.check();
      await this.writeData(op);
      this.check();
      const synced = deferred<void>();
      this.waiting.push(synced);
      this.startSync();
      await synced.promise;
    } catch (err) {
      this.fail(err);
      throw this.failure ?? err;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves when no write is in progress. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async writeData(op: {
    offsetBytes: number;
    lengthBytes: number;
    data?: Uint8Array;
  }): Promise<void> {
    if (op.data) {
      await this.disk.writev([op.data], op.offsetBytes);
      return;
    }
    for (let at = 0; at < op.lengthBytes; at += ZERO_PIECE_BYTES) {
      const length = Math.min(ZERO_PIECE_BYTES, op.lengthBytes - at);
      await this.disk.writev([ZEROES.subarray(0, length)], op.offsetBytes + at);
    }
  }

  /** One fdatasync at a time; writes that finish meanwhile share the next one. */
  private startSync(): void {
    if (this.syncing || this.waiting.length === 0) return;
    this.syncing = true;
    const batch = this.waiting.splice(0);
    const startMs = this.now();
    this.disk.datasync().then(
      () => {
        this.syncing = false;
        this.observer?.synced(batch.length, this.now() - startMs);
        for (const d of batch) d.resolve();
        this.startSync();
      },
      (err: unknown) => {
        this.syncing = false;
        this.fail(err);
        const reason = this.failure as Error;
        for (const d of [...batch, ...this.waiting.splice(0)]) d.reject(reason);
      },
    );
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Appends records to one log file with group commit.
 *
 * While a batch is being written and fdatasync'ed, new appends queue up;
 * when the sync returns, everything queued (up to maxBatchBytes) goes out as
 * the next batch: one pwritev plus one fdatasync, however many writers are
 * waiting. An append resolves only when its batch is durable.
 *
 * A failed write or fdatasync is fatal for the writer: after a failed fsync
 * Linux may have dropped the dirty pages and a retry can "succeed" without
 * the data (Rebello et al., ATC'20), so we reject everything queued and
 * every later append, and the owner restarts and recovers from the durable
 * prefix. Never retry and continue.
 */
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { LamportClock } from "../cluster/clock.js";
import type { RandomAccessFile, Storage } from "../storage/types.js";
import { fsyncDirectory } from "../storage/atomic-file.js";
import { invariant } from "../util/assert.js";
import { deferred, type Deferred } from "../util/deferred.js";
import { ClosedError, LogFailedError, errorMessage } from "../util/errors.js";
import { encodeFileHeaderRecord, type LogFileHeader } from "./file-header.js";
import { RECORD_HEADER_BYTES, RecordKind, encodeRecordHeader } from "./record.js";
import path from "node:path";

export interface AppendEntry {
  kind: typeof RecordKind.Write | typeof RecordKind.Zero;
  offsetBytes: number;
  lengthBytes: number;
  /** Data for WRITE records; must not be modified until the append resolves. */
  payload?: Uint8Array;
}

export interface AppendResult {
  /** Sequence number of the last record of this append. */
  lastSeq: number;
  /** Log file offset just behind this append's last record. */
  endOffsetBytes: number;
}

export interface LogWriterLimits {
  /** Upper bound of one group-commit batch (one writev + one fdatasync). */
  maxBatchBytes: number;
  /** Upper bound of records in one batch (keeps writev under IOV_MAX). */
  maxBatchRecords: number;
  /** Bytes queued but not yet written; further appends wait (backpressure). */
  maxPendingBytes: number;
}

export const DEFAULT_WRITER_LIMITS: LogWriterLimits = {
  maxBatchBytes: 4 * 1024 * 1024,
  maxBatchRecords: 256,
  maxPendingBytes: 64 * 1024 * 1024,
};

/** Hooks for metrics; the log itself does not know about Prometheus. */
export interface LogWriterObserver {
  batchDurable(records: number, bytes: number, fsyncSeconds: number): void;
  pendingBytes(bytes: number): void;
}

interface QueuedAppend {
  entries: readonly AppendEntry[];
  firstSeq: number;
  bytes: number;
  stampUs: number;
  done: Deferred<AppendResult>;
}

export interface LogWriterEvents {
  /** The durable end of the file moved forward. */
  durable: [endOffsetBytes: number];
  /** The writer failed for good. */
  failed: [err: LogFailedError];
}

export class LogWriter extends EventEmitter<LogWriterEvents> {
  private readonly queue: QueuedAppend[] = [];
  private readonly admission: QueuedAppend[] = [];
  private pendingBytes = 0;
  private nextSeq = 1;
  /** Where the next batch is written. */
  private writeOffsetBytes: number;
  private durableBytes: number;
  private writing = false;
  private closed = false;
  private failure: LogFailedError | undefined;

  private constructor(
    readonly filePath: string,
    readonly header: LogFileHeader,
    private readonly file: RandomAccessFile,
    startOffsetBytes: number,
    private readonly clock: LamportClock,
    private readonly limits: LogWriterLimits,
    private readonly observer?: LogWriterObserver,
  ) {
    super();
    this.writeOffsetBytes = startOffsetBytes;
    this.durableBytes = startOffsetBytes;
  }

  /** Creates a new log file whose first record (the file header) is durable before this resolves. */
  static async create(
    storage: Storage,
    filePath: string,
    header: LogFileHeader,
    clock: LamportClock,
    limits: LogWriterLimits = DEFAULT_WRITER_LIMITS,
    observer?: LogWriterObserver,
  ): Promise<LogWriter> {
    const file = await storage.open(filePath, "create");
    try {
      const buffers = encodeFileHeaderRecord(header);
      await file.writev(buffers, 0);
      await file.datasync();
      await fsyncDirectory(path.dirname(filePath));
      const length = buffers.reduce((n, b) => n + b.length, 0);
      return new LogWriter(filePath, header, file, length, clock, limits, observer);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  /** File offset up to which everything is durable. Only this prefix may be served to peers. */
  get durableOffsetBytes(): number {
    return this.durableBytes;
  }

  /** Stream position up to which everything is durable. */
  get durableStreamBytes(): number {
    return this.header.streamStartBytes + this.durableBytes;
  }

  get failed(): LogFailedError | undefined {
    return this.failure;
  }

  /** Number of records appended (or queued) so far. */
  get recordCount(): number {
    return this.nextSeq - 1;
  }

  /** Bytes written or queued: where the file will end once the queue is durable. */
  get projectedEndBytes(): number {
    return this.writeOffsetBytes + this.pendingBytes;
  }

  /**
   * Queues records and resolves when they are durable. The entries of one
   * call always land in the same batch, in order. Appends are durable in the
   * order they were called.
   */
  append(entries: readonly AppendEntry[]): Promise<AppendResult> {
    invariant(entries.length > 0, "append needs at least one entry");
    let bytes = 0;
    for (const e of entries) {
      invariant(
        e.kind === RecordKind.Write || e.kind === RecordKind.Zero,
        "only WRITE and ZERO can be appended",
      );
      invariant(e.kind !== RecordKind.Write || (e.payload?.length ?? -1) === e.lengthBytes, "payload length");
      bytes += RECORD_HEADER_BYTES + (e.payload?.length ?? 0);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ClosedError("log file is finished"));
    const item: QueuedAppend = { entries, firstSeq: 0, bytes, stampUs: 0, done: deferred<AppendResult>() };
    // Over the pending bound the append waits in FIFO order (backpressure);
    // it is admitted as soon as durable batches make room.
    if (this.admission.length > 0 || !this.hasRoomFor(bytes)) this.admission.push(item);
    else this.enqueue(item);
    return item.done.promise;
  }

  /** Resolves when everything appended before this call is durable. */
  async barrier(): Promise<void> {
    if (this.failure) throw this.failure;
    const last = this.admission[this.admission.length - 1] ?? this.queue[this.queue.length - 1];
    if (last) await last.done.promise;
  }

  /** Stops accepting appends, waits until everything queued is durable, closes the file. */
  async finish(): Promise<{ lengthBytes: number }> {
    this.closed = true;
    try {
      await this.barrier();
    } finally {
      await this.file.close();
    }
    return { lengthBytes: this.durableBytes };
  }

  private hasRoomFor(bytes: number): boolean {
    return this.pendingBytes === 0 || this.pendingBytes + bytes <= this.limits.maxPendingBytes;
  }

  private enqueue(item: QueuedAppend): void {
    item.firstSeq = this.nextSeq;
    item.stampUs = this.clock.now();
    this.nextSeq += item.entries.length;
    this.queue.push(item);
    this.pendingBytes += item.bytes;
    this.observer?.pendingBytes(this.pendingBytes);
    if (!this.writing) void this.writeBatches();
  }

  private async writeBatches(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.takeBatch();
      const buffers: Uint8Array[] = [];
      const batchFirstSeq = batch[0]?.firstSeq as number;
      let bytes = 0;
      let records = 0;
      for (const item of batch) {
        let seq = item.firstSeq;
        for (const e of item.entries) {
          const payload = e.payload ?? EMPTY;
          const header = encodeRecordHeader(
            {
              kind: e.kind,
              seq,
              batchFirstSeq,
              stampUs: item.stampUs,
              offsetBytes: e.offsetBytes,
              lengthBytes: e.lengthBytes,
            },
            payload,
          );
          buffers.push(header);
          if (payload.length > 0) buffers.push(payload);
          seq += 1;
          records += 1;
        }
        bytes += item.bytes;
      }
      const started = performance.now();
      try {
        await this.file.writev(buffers, this.writeOffsetBytes);
        this.writeOffsetBytes += bytes;
        await this.file.datasync();
      } catch (err) {
        this.fail(err, batch);
        break;
      }
      const fsyncSeconds = (performance.now() - started) / 1000;
      this.durableBytes = this.writeOffsetBytes;
      this.pendingBytes -= bytes;
      this.observer?.pendingBytes(this.pendingBytes);
      this.observer?.batchDurable(records, bytes, fsyncSeconds);
      let end = this.durableBytes - bytes;
      for (const item of batch) {
        end += item.bytes;
        item.done.resolve({ lastSeq: item.firstSeq + item.entries.length - 1, endOffsetBytes: end });
      }
      this.emit("durable", this.durableBytes);
      this.admitWaiting();
    }
    this.writing = false;
  }

  private takeBatch(): QueuedAppend[] {
    const batch: QueuedAppend[] = [];
    let bytes = 0;
    let records = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as QueuedAppend;
      const fits =
        bytes + next.bytes <= this.limits.maxBatchBytes &&
        records + next.entries.length <= this.limits.maxBatchRecords;
      if (batch.length > 0 && !fits) break;
      batch.push(next);
      this.queue.shift();
      bytes += next.bytes;
      records += next.entries.length;
    }
    return batch;
  }

  private admitWaiting(): void {
    while (this.admission.length > 0 && this.hasRoomFor((this.admission[0] as QueuedAppend).bytes)) {
      this.enqueue(this.admission.shift() as QueuedAppend);
    }
  }

  private fail(err: unknown, inFlight: QueuedAppend[]): void {
    this.failure = new LogFailedError(`log ${this.filePath} failed: ${errorMessage(err)}`, { cause: err });
    for (const item of [...inFlight, ...this.queue.splice(0), ...this.admission.splice(0)]) {
      item.done.reject(this.failure);
    }
    this.pendingBytes = 0;
    this.observer?.pendingBytes(0);
    this.emit("failed", this.failure);
  }
}

const EMPTY = new Uint8Array(0);

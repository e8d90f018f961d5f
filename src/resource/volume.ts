/**
 * The primary's data path: every write goes to the log (durable) and then
 * to the backing disk, and only then is it acknowledged. Reads come from
 * the backing disk, which holds every acknowledged write because the disk
 * write happens before the acknowledgement.
 */
import { RecordKind } from "../log/record.js";
import type { LogStream } from "../log/log-stream.js";
import type { AppendEntry } from "../log/writer.js";
import type { RandomAccessFile } from "../storage/types.js";
import { OutOfRangeError } from "../util/errors.js";
import type { ApplyQueue } from "./apply-queue.js";
import { ReadOnlyError, type BlockVolume } from "./block-volume.js";

export interface VolumeOptions {
  /** Writes larger than this are split into several records. */
  maxRecordPayloadBytes: number;
  /** Zero ranges larger than this are split (bounded work per record on replay). */
  maxZeroRecordBytes: number;
}

export const DEFAULT_VOLUME_OPTIONS: VolumeOptions = {
  maxRecordPayloadBytes: 1024 * 1024,
  maxZeroRecordBytes: 64 * 1024 * 1024,
};

export class PrimaryVolume implements BlockVolume {
  private accepting = true;
  private active = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly sizeBytes: number,
    private readonly backing: RandomAccessFile,
    private readonly log: LogStream,
    private readonly applier: ApplyQueue,
    private readonly options: VolumeOptions,
    /** Called when the log or the disk failed for good. */
    private readonly onFatal: (err: unknown) => void,
  ) {}

  get writable(): boolean {
    return this.accepting;
  }

  /** Refuse new writes from now on (shutdown, handover, failure). */
  stopWrites(): void {
    this.accepting = false;
  }

  /** Resolves when no operation is in progress. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async read(offsetBytes: number, target: Uint8Array): Promise<void> {
    this.checkRange(offsetBytes, target.length);
    const n = await this.track(this.backing.read(target, offsetBytes));
    // A file-backed disk may be shorter than the volume (sparse tail): reads as zeroes.
    if (n < target.length) target.fill(0, n);
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    this.checkWrite(offsetBytes, data.length);
    if (data.length === 0) return;
    const entries: AppendEntry[] = [];
    const max = this.options.maxRecordPayloadBytes;
    for (let at = 0; at < data.length; at += max) {
      const payload = data.subarray(at, Math.min(at + max, data.length));
      entries.push({
        kind: RecordKind.Write,
        offsetBytes: offsetBytes + at,
        lengthBytes: payload.length,
        payload,
      });
    }
    await this.track(this.logAndApply(entries, { offsetBytes, lengthBytes: data.length, data }));
  }

  async writeZeroes(offsetBytes: number, lengthBytes: number): Promise<void> {
    this.checkWrite(offsetBytes, lengthBytes);
    if (lengthBytes === 0) return;
    const entries: AppendEntry[] = [];
    const max = this.options.maxZeroRecordBytes;
    for (let at = 0; at < lengthBytes; at += max) {
      entries.push({
        kind: RecordKind.Zero,
        offsetBytes: offsetBytes + at,
        lengthBytes: Math.min(max, lengthBytes - at),
      });
    }
    await this.track(this.logAndApply(entries, { offsetBytes, lengthBytes }));
  }

  trim(offsetBytes: number, lengthBytes: number): Promise<void> {
    // Advisory (the NBD spec lets the range read back unchanged). Leaving
    // the data alone keeps primary and secondaries identical without
    // logging anything; punching holes needs fallocate(), which Node lacks.
    this.checkRange(offsetBytes, lengthBytes);
    if (!this.accepting) throw new ReadOnlyError(`${this.name} does not accept writes`);
    return Promise.resolve();
  }

  async flush(): Promise<void> {
    // Writes are durable before they are acknowledged; a flush only has to
    // wait for writes still queued in the log.
    await this.track(this.log.barrier());
  }

  private async logAndApply(
    entries: AppendEntry[],
    op: { offsetBytes: number; lengthBytes: number; data?: Uint8Array },
  ): Promise<void> {
    let appended;
    try {
      appended = await this.log.append(entries);
    } catch (err) {
      this.onFatal(err);
      throw err;
    }
    try {
      await this.applier.apply(op, appended.position);
    } catch (err) {
      this.onFatal(err);
      throw err;
    }
  }

  private checkRange(offsetBytes: number, lengthBytes: number): void {
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > this.sizeBytes) {
      throw new OutOfRangeError(
        `${this.name}: ${lengthBytes} bytes at ${offsetBytes} are outside the volume of ${this.sizeBytes} bytes`,
      );
    }
  }

  private checkWrite(offsetBytes: number, lengthBytes: number): void {
    this.checkRange(offsetBytes, lengthBytes);
    if (!this.accepting) throw new ReadOnlyError(`${this.name} does not accept writes`);
  }

  private async track<T>(work: Promise<T>): Promise<T> {
    this.active += 1;
    try {
      return await work;
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}

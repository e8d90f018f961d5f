/**
 * Applies logged writes to the backing disk in log order.
 *
 * Writes that do not overlap go to the disk concurrently; a write that
 * overlaps an earlier one still in flight waits for it (as MARS's
 * `_has_conflict`), so the disk always ends up as if the log had been
 * applied one record after the other. Callers must call apply() in log
 * order. The queue also tracks the contiguous applied position: the log
 * point before which every record is on the disk (not necessarily synced).
 */
import type { LogPosition } from "../log/log-stream.js";
import type { RandomAccessFile } from "../storage/types.js";

export interface ApplyOp {
  offsetBytes: number;
  lengthBytes: number;
  /** Undefined means zeroes. */
  data?: Uint8Array;
}

interface InFlight {
  start: number;
  end: number;
  done: Promise<void>;
  finished: boolean;
  position: LogPosition | undefined;
}

const ZERO_CHUNK = new Uint8Array(1024 * 1024);

export class ApplyQueue {
  private readonly inFlight: InFlight[] = [];
  /** In-flight entries in issue order, to compute the contiguous applied position. */
  private readonly order: InFlight[] = [];
  private applied: LogPosition | undefined;
  private failed = false;
  private inFlightLengthBytes = 0;

  constructor(
    private readonly backing: RandomAccessFile,
    initialPosition?: LogPosition,
    /** Called whenever the applied position moves (metrics; the checkpointer polls instead). */
    private readonly onApplied?: (position: LogPosition) => void,
  ) {
    this.applied = initialPosition;
  }

  /** Every record before this point is on the backing disk. */
  get appliedPosition(): LogPosition | undefined {
    return this.applied;
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  /** Bytes of the operations being applied or waiting to be applied. */
  get inFlightBytes(): number {
    return this.inFlightLengthBytes;
  }

  /**
   * Resolves when every operation issued so far that overlaps the range is
   * on the disk, and rejects if one of them failed (undefined if none
   * overlaps, so the caller can skip an await). Reads call this: a write is
   * acknowledged once it is in the log, possibly before it reached the
   * disk, and a read must still return it.
   */
  rangeApplied(offsetBytes: number, lengthBytes: number): Promise<void> | undefined {
    const end = offsetBytes + lengthBytes;
    let waits: Promise<void>[] | undefined;
    for (const other of this.inFlight) {
      if (other.start < end && offsetBytes < other.end) (waits ??= []).push(other.done);
    }
    if (!waits) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /**
   * Applies one operation; `position` is the log point just behind its
   * record(s), recorded once it and everything before it is applied.
   */
  apply(op: ApplyOp, position?: LogPosition): Promise<void> {
    const start = op.offsetBytes;
    const end = op.offsetBytes + op.lengthBytes;
    const conflicts: Promise<void>[] = [];
    for (const other of this.inFlight) {
      if (other.start < end && start < other.end) conflicts.push(other.done);
    }
    const entry: InFlight = {
      start,
      end,
      done: Promise.resolve(),
      finished: false,
      position,
    };
    const run = (): Promise<void> => this.write(op);
    entry.done = (conflicts.length === 0 ? run() : Promise.all(conflicts).then(run)).then(
      () => this.finish(entry, true),
      (err: unknown) => {
        this.finish(entry, false);
        throw err;
      },
    );
    this.inFlight.push(entry);
    this.order.push(entry);
    this.inFlightLengthBytes += op.lengthBytes;
    return entry.done;
  }

  /**
   * Moves the applied position past log records that change nothing on the
   * disk (a file header): at once if nothing is in flight, else once
   * everything issued before has landed.
   */
  markApplied(position: LogPosition): void {
    const entry: InFlight = { start: 0, end: 0, done: Promise.resolve(), finished: false, position };
    this.order.push(entry);
    this.inFlight.push(entry);
    this.finish(entry, true);
  }

  /** Resolves when everything applied so far is on the disk. */
  async idle(): Promise<void> {
    await Promise.allSettled(this.inFlight.map((e) => e.done));
  }

  private write(op: ApplyOp): Promise<void> {
    if (op.data) return this.backing.writev([op.data], op.offsetBytes);
    const buffers: Uint8Array[] = [];
    for (let left = op.lengthBytes; left > 0; left -= ZERO_CHUNK.length) {
      buffers.push(left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left));
    }
    return this.backing.writev(buffers, op.offsetBytes);
  }

  private finish(entry: InFlight, ok: boolean): void {
    // A failed write must never count as applied: the position stops here for good.
    if (!ok) this.failed = true;
    entry.finished = true;
    this.inFlight.splice(this.inFlight.indexOf(entry), 1);
    this.inFlightLengthBytes -= entry.end - entry.start;
    const before = this.applied;
    while (!this.failed && this.order.length > 0 && (this.order[0] as InFlight).finished) {
      const head = this.order.shift() as InFlight;
      if (head.position) this.applied = head.position;
    }
    if (this.applied !== before && this.applied) this.onApplied?.(this.applied);
  }
}

/**
 * The checkpoint says how far the log is applied to the backing disk *and*
 * synced there: restart replays the log from this point. It is advanced in
 * the background (sync the disk, then persist the position atomically), so
 * the write path never waits for it. Replaying from an older checkpoint is
 * harmless: records carry absolute offsets and are re-applied in order.
 */
import path from "node:path";
import type { LogPosition } from "../log/log-stream.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import { LogCorruptError, isErrno } from "../util/errors.js";

export interface Checkpoint extends LogPosition {
  format: 1;
}

export const CHECKPOINT_FILE = "checkpoint.json";

export async function readCheckpoint(dir: string, storage: Storage): Promise<Checkpoint | undefined> {
  const raw = (await readJsonFile(path.join(dir, CHECKPOINT_FILE), storage)) as
    Partial<Checkpoint> | undefined;
  if (raw === undefined) return undefined;
  const numbers = [raw.fileNumber, raw.offsetBytes, raw.nextSeq, raw.streamBytes];
  if (raw.format !== 1 || typeof raw.host !== "string" || !numbers.every((n) => Number.isSafeInteger(n))) {
    throw new LogCorruptError(`${path.join(dir, CHECKPOINT_FILE)} is malformed`);
  }
  return raw as Checkpoint;
}

/**
 * Replaces the checkpoint atomically. A crash in the middle leaves the old
 * checkpoint (and maybe a temporary file, removed at the next load): the
 * next start replays from the older position, which is harmless.
 */
export async function writeCheckpoint(dir: string, position: LogPosition, storage: Storage): Promise<void> {
  const checkpoint: Checkpoint = { format: 1, ...position };
  await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), JSON.stringify(checkpoint) + "\n", storage);
}

export function samePosition(a: LogPosition | undefined, b: LogPosition | undefined): boolean {
  return a?.fileNumber === b?.fileNumber && a?.host === b?.host && a?.offsetBytes === b?.offsetBytes;
}

/**
 * Persists the applied position every `intervalMs` when it moved.
 * A failure (the disk cannot sync) is reported through onError; the
 * checkpoint then simply stops advancing.
 */
export class Checkpointer {
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private persisted: LogPosition | undefined;

  constructor(
    private readonly time: Clock,
    private readonly storage: Storage,
    private readonly dir: string,
    private readonly backing: RandomAccessFile,
    private readonly appliedPosition: () => LogPosition | undefined,
    private readonly intervalMs: number,
    private readonly onPersisted: (position: LogPosition) => void,
    private readonly onError: (err: unknown) => void,
    initial?: LogPosition,
  ) {
    this.persisted = initial;
  }

  get position(): LogPosition | undefined {
    return this.persisted;
  }

  start(): void {
    this.timer ??= this.time
      .setRepeating(this.intervalMs, () => {
        this.checkpointNow({ tolerateNoSpace: true }).catch((err: unknown) => this.onError(err));
      })
      .unref();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * Syncs the backing disk and persists the applied position, if it moved.
   * One at a time. `tolerateNoSpace`: a checkpoint file that cannot be
   * written for lack of space (ENOSPC, EDQUOT: a fresh temporary file each
   * time, so nothing is retried on a failed descriptor) leaves the older
   * checkpoint in force (replay starts earlier, nothing is lost) and
   * resolves false; a failed sync of the disk always throws.
   */
  async checkpointNow(options: { tolerateNoSpace?: boolean } = {}): Promise<boolean> {
    while (this.running) await this.running.catch(() => undefined);
    const position = this.appliedPosition();
    if (!position || samePosition(position, this.persisted)) return true;
    let written = true;
    this.running = (async () => {
      await this.backing.datasync();
      try {
        await writeCheckpoint(this.dir, position, this.storage);
      } catch (err) {
        if (!options.tolerateNoSpace || !(isErrno(err, "ENOSPC") || isErrno(err, "EDQUOT"))) throw err;
        written = false;
        return;
      }
      this.persisted = position;
      this.onPersisted(position);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    return written;
  }
}

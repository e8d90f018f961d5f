/**
 * A file that stops taking writes and syncs after the first one failed.
 *
 * Why: after a failed fdatasync the kernel may have dropped the dirty
 * pages it could not write and marked them clean, so a later fdatasync on
 * the same file can succeed without those bytes ever reaching the disk
 * (the "fsyncgate" behaviour of Linux). A caller that retries, or any other
 * part of the program that syncs the same file a moment later (a
 * checkpoint after a failed apply), would then record as durable what was
 * lost. Wrapping a file in FailStopFile makes the first failure of a
 * write, writeRanges, truncate or datasync final: every later one rejects
 * with that same error, and the owner must close the file and recover
 * from what is on disk, through a new descriptor. Reads go on (recovery
 * decides what they are worth).
 */
import type { RandomAccessFile, WriteRange } from "./types.js";

export class FailStopFile implements RandomAccessFile {
  private failure: unknown;
  private failed = false;

  constructor(private readonly inner: RandomAccessFile) {}

  get path(): string {
    return this.inner.path;
  }

  get syncWrites(): boolean | undefined {
    return this.inner.syncWrites;
  }

  get directWrites(): boolean | undefined {
    return this.inner.directWrites;
  }

  /** The first failure of a write or sync, if any. */
  get failedWith(): unknown {
    return this.failure;
  }

  read(target: Uint8Array, positionBytes: number): Promise<number> {
    return this.inner.read(target, positionBytes);
  }

  writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void> {
    return this.guard(() => this.inner.writev(buffers, positionBytes));
  }

  writeRanges(ranges: readonly WriteRange[]): Promise<void> {
    return this.guard(() => this.inner.writeRanges(ranges));
  }

  datasync(): Promise<void> {
    return this.guard(() => this.inner.datasync());
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.guard(() => this.inner.truncate(lengthBytes));
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async guard(op: () => Promise<void>): Promise<void> {
    if (this.failed) throw this.failure;
    try {
      await op();
    } catch (err) {
      if (!this.failed) {
        this.failed = true;
        this.failure = err;
      }
      throw err;
    }
  }
}

/**
 * Writes to one file issued without waiting for each other (at distinct
 * offsets), so the fetcher receives the next frames while earlier records
 * are still being written (it waited for every `writev` before reading on:
 * ~1.5 s per GiB of a catch-up on loopback, one after the other with the
 * socket's ~2.2 s). `settle()` waits for all of them; the caller syncs the
 * file only after it, so nothing becomes visible before it is written and
 * synced. The first failure is kept and thrown by the next call.
 *
 * Bound: the caller settles at every sync, so what is in flight never
 * exceeds what it writes between two syncs (Fetcher: fetchSyncEveryBytes
 * plus one frame).
 */
import type { RandomAccessFile } from "../platform/storage/types.js";

export class PipelinedWrites {
  private readonly pending = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(private readonly file: RandomAccessFile) {}

  /** Issues a write of `bytes` at `offsetBytes`; throws an earlier write's failure. */
  issue(bytes: Uint8Array, offsetBytes: number): void {
    this.throwIfFailed();
    const write: Promise<void> = this.file
      .writev([bytes], offsetBytes)
      .then(
        () => undefined,
        (err: unknown) => {
          this.failure ??= { err };
        },
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves once every write issued so far has completed; throws the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }
}

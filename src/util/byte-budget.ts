/**
 * A bound on bytes in flight (and on requests in flight), waited on in
 * FIFO order: `acquire` resolves once the bytes fit, `release` gives them
 * back. One acquisition larger than the whole budget is let through alone,
 * so a single big item never deadlocks.
 */
import { deferred, type Deferred } from "./deferred.js";

export class ByteBudget {
  private usedBytes = 0;
  private usedSlots = 0;
  private readonly waiters: Array<{ bytes: number; ready: Deferred<void> }> = [];

  constructor(
    readonly maxBytes: number,
    readonly maxSlots: number = Number.MAX_SAFE_INTEGER,
  ) {}

  get inFlightBytes(): number {
    return this.usedBytes;
  }

  /** Resolves once `bytes` fit; rejects if `signal` aborts first (nothing is then held). */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    const ready = deferred<void>();
    const entry = { bytes, ready };
    this.waiters.push(entry);
    signal?.addEventListener(
      "abort",
      () => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          ready.reject(signal.reason);
          this.grant();
        }
      },
      { once: true },
    );
    return ready.promise;
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
    this.usedSlots -= 1;
    this.grant();
  }

  private fits(bytes: number): boolean {
    if (this.usedSlots >= this.maxSlots) return false;
    return this.usedBytes === 0 || this.usedBytes + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.usedBytes += bytes;
    this.usedSlots += 1;
  }

  private grant(): void {
    for (let head = this.waiters[0]; head && this.fits(head.bytes); head = this.waiters[0]) {
      this.waiters.shift();
      this.take(head.bytes);
      head.ready.resolve();
    }
  }
}

/**
 * The NBD server's memory budget shared by all its connections: bytes
 * received and not yet parsed, plus bytes reserved by requests whose reply
 * has not been flushed to the socket yet (a READ's data, a WRITE's payload).
 *
 * Contract: `usedBytes` never exceeds `limitBytes` by more than one request
 * (a connection admits a request while the total is below the limit, or
 * when nothing is reserved anywhere, so the server always makes progress).
 * Connections that could not admit a request, or stopped reading, wait in
 * `blocked` and are woken whenever bytes are released.
 *
 * Trade-off: a client that never reads its replies keeps its reserved
 * bytes until it disconnects; the per-connection budget bounds how much of
 * this budget one connection can hold.
 */
export class ByteBudget {
  private used = 0;
  private reserved = 0;
  private readonly blocked = new Set<() => void>();

  constructor(
    readonly limitBytes: number,
    private readonly onChange: (usedBytes: number) => void = () => undefined,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Bytes held by requests (excluding unparsed input); 0 means nobody can release anything. */
  get reservedBytes(): number {
    return this.reserved;
  }

  get exhausted(): boolean {
    return this.used >= this.limitBytes;
  }

  /** Whether a request of `costBytes` may start now. */
  admits(costBytes: number): boolean {
    return this.reserved === 0 || this.used + costBytes <= this.limitBytes;
  }

  /** Adjusts the total by signed deltas; releases wake every blocked connection. */
  adjust(usedDeltaBytes: number, reservedDeltaBytes: number): void {
    if (usedDeltaBytes === 0 && reservedDeltaBytes === 0) return;
    this.used += usedDeltaBytes;
    this.reserved += reservedDeltaBytes;
    this.onChange(this.used);
    if (usedDeltaBytes < 0 && this.blocked.size > 0 && !this.exhausted) {
      const wake = [...this.blocked];
      this.blocked.clear();
      for (const w of wake) w();
    }
  }

  /** Calls `wake` once after the next release (a connection blocked on this budget). */
  waitForRelease(wake: () => void): void {
    this.blocked.add(wake);
  }

  forget(wake: () => void): void {
    this.blocked.delete(wake);
  }
}

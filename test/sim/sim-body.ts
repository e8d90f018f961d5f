/**
 * The reading end of one simulated connection's body (IncomingBody of
 * src/platform/transport.ts), for SimTransport (sim-transport.ts).
 *
 * Contract:
 * - Chunks come out in the order they were pushed. One reader: iterate, or
 *   call readAll once.
 * - `unreadBytes` (in flight plus buffered) is what the writer's
 *   backpressure bounds; taking a chunk lowers it and calls `consumed`.
 * - A slow reader (hooks.readerDelayMs) takes each chunk only that long
 *   after it asked, on the injected clock.
 * - After `fail`, the next read throws the failure (buffered chunks are
 *   dropped with the connection). A reader that stops early (break out of
 *   the loop, readAll over its cap) drops the connection: `abandon`.
 */
import type { Clock } from "../../src/platform/clock.js";
import { TransportError, type IncomingBody } from "../../src/platform/transport.js";

export interface SimBodyHooks {
  readerDelayMs(): number;
  consumed(bytes: number): void;
  abandon(): void;
}

export class SimBody implements IncomingBody {
  private readonly queue: Buffer[] = [];
  private buffered = 0;
  private inFlightBytes = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly time: Clock,
    private readonly hooks: SimBodyHooks,
  ) {}

  /** A body that arrived whole with its request. */
  static whole(time: Clock, body: Buffer, abandon: () => void): SimBody {
    const sim = new SimBody(time, { readerDelayMs: () => 0, consumed: () => undefined, abandon });
    if (body.length > 0) sim.push(body);
    sim.end();
    return sim;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Bytes written and not yet taken by the reader (in flight or buffered). */
  get unreadBytes(): number {
    return this.inFlightBytes + this.buffered;
  }

  /** The writer handed `bytes` to the connection; they arrive later through push. */
  inFlight(bytes: number): void {
    this.inFlightBytes += bytes;
  }

  push(chunk: Buffer): void {
    this.inFlightBytes = Math.max(0, this.inFlightBytes - chunk.length);
    this.queue.push(chunk);
    this.buffered += chunk.length;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    if (this.error || (this.ended && this.queue.length === 0)) return;
    this.error = error;
    this.queue.length = 0;
    this.buffered = 0;
    this.inFlightBytes = 0;
    this.notify();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.next(),
      return: () => {
        if (!this.ended || this.queue.length > 0) this.hooks.abandon();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  async readAll(maxBytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const next = await this.next();
      if (next.done) return Buffer.concat(chunks);
      size += next.value.length;
      if (size > maxBytes) {
        this.hooks.abandon();
        throw new TransportError("too-large", `answer exceeds ${maxBytes} bytes`);
      }
      chunks.push(next.value);
    }
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    let waitedForReader = false;
    for (;;) {
      if (this.error) throw this.error;
      const chunk = this.queue[0];
      if (chunk) {
        const delayMs = this.hooks.readerDelayMs();
        if (delayMs > 0 && !waitedForReader) {
          waitedForReader = true;
          await this.time.sleep(delayMs);
          continue;
        }
        this.queue.shift();
        this.buffered -= chunk.length;
        this.hooks.consumed(chunk.length);
        return { done: false, value: chunk };
      }
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

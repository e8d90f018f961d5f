/**
 * Writes NBD simple replies to one connection's socket and tracks their
 * flushing.
 *
 * Replies completing in the same event-loop turn leave in one writev (the
 * socket is corked until the next turn). A reply's `onFlushed` runs once its
 * bytes are in the kernel, or the write failed: until then it still holds
 * its bytes. `stalledForMs` tells how long written replies have waited
 * without any of them being flushed (a client that does not read).
 */
import type { Clock } from "../../platform/clock.js";
import type { Socket } from "../../platform/socket-listener.js";
import { Errno, SIMPLE_REPLY_BYTES, SIMPLE_REPLY_MAGIC } from "./protocol.js";

export class ReplyWriter {
  /** Replies handed to socket.write and not flushed yet. */
  private awaitingFlush = 0;
  /** When a reply last left our buffers, or the first of those now waiting was written (see stalledForMs). */
  private flushProgressMs = 0;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private readonly socket: Socket,
    private readonly time: Clock,
  ) {}

  /** Sends a simple reply; `withData` is a READ reply buffer with room for the header. */
  send(cookie: Buffer, errno: number, withData: Buffer | undefined, onFlushed: () => void): void {
    const out = errno === Errno.OK && withData ? withData : Buffer.allocUnsafe(SIMPLE_REPLY_BYTES);
    out.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    out.writeUInt32BE(errno, 4);
    cookie.copy(out, 8);
    // Replies completing in the same event-loop turn leave in one writev:
    // every IO completion is its own callback (and its own tick), so
    // uncorking on nextTick would still cost one syscall per reply.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.time.nextTurn(this.uncork);
    }
    // Still in flight until flushed: the callback runs once the bytes are in the kernel (or failed).
    if (this.awaitingFlush === 0) this.flushProgressMs = this.time.monotonicMs();
    this.awaitingFlush += 1;
    this.socket.write(out, () => {
      this.awaitingFlush -= 1;
      this.flushProgressMs = this.time.monotonicMs();
      onFlushed();
    });
  }

  /**
   * How long written replies have waited without any of them being flushed
   * (0: none waits). Requests still executing do not count: a slow disk is not the client's fault.
   */
  stalledForMs(nowMs: number): number {
    return this.awaitingFlush === 0 ? 0 : nowMs - this.flushProgressMs;
  }
}

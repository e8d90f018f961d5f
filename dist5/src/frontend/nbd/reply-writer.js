import { Errno, SIMPLE_REPLY_BYTES, SIMPLE_REPLY_MAGIC } from "./protocol.js";
export class ReplyWriter {
    socket;
    time;
    /** Replies handed to socket.write and not flushed yet. */
    awaitingFlush = 0;
    /** When a reply last left our buffers, or the first of those now waiting was written (see stalledForMs). */
    flushProgressMs = 0;
    corked = false;
    uncork = () => {
        this.corked = false;
        this.socket.uncork();
    };
    constructor(socket, time) {
        this.socket = socket;
        this.time = time;
    }
    /** Sends a simple reply; `withData` is a READ reply buffer with room for the header. */
    send(cookie, errno, withData, onFlushed) {
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
        if (this.awaitingFlush === 0)
            this.flushProgressMs = this.time.monotonicMs();
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
    stalledForMs(nowMs) {
        return this.awaitingFlush === 0 ? 0 : nowMs - this.flushProgressMs;
    }
}
//# sourceMappingURL=reply-writer.js.map
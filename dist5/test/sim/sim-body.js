import { TransportError } from "../../src/platform/transport.js";
export class SimBody {
    time;
    hooks;
    queue = [];
    buffered = 0;
    inFlightBytes = 0;
    ended = false;
    error;
    wake;
    constructor(time, hooks) {
        this.time = time;
        this.hooks = hooks;
    }
    /** A body that arrived whole with its request. */
    static whole(time, body, abandon) {
        const sim = new SimBody(time, { readerDelayMs: () => 0, consumed: () => undefined, abandon });
        if (body.length > 0)
            sim.push(body);
        sim.end();
        return sim;
    }
    get bufferedBytes() {
        return this.buffered;
    }
    /** Bytes written and not yet taken by the reader (in flight or buffered). */
    get unreadBytes() {
        return this.inFlightBytes + this.buffered;
    }
    /** The writer handed `bytes` to the connection; they arrive later through push. */
    inFlight(bytes) {
        this.inFlightBytes += bytes;
    }
    push(chunk) {
        this.inFlightBytes = Math.max(0, this.inFlightBytes - chunk.length);
        this.queue.push(chunk);
        this.buffered += chunk.length;
        this.notify();
    }
    end() {
        this.ended = true;
        this.notify();
    }
    fail(error) {
        if (this.error || (this.ended && this.queue.length === 0))
            return;
        this.error = error;
        this.queue.length = 0;
        this.buffered = 0;
        this.inFlightBytes = 0;
        this.notify();
    }
    [Symbol.asyncIterator]() {
        return {
            next: () => this.next(),
            return: () => {
                if (!this.ended || this.queue.length > 0)
                    this.hooks.abandon();
                return Promise.resolve({ done: true, value: undefined });
            },
        };
    }
    async readAll(maxBytes) {
        const chunks = [];
        let size = 0;
        for (;;) {
            const next = await this.next();
            if (next.done)
                return Buffer.concat(chunks);
            size += next.value.length;
            if (size > maxBytes) {
                this.hooks.abandon();
                throw new TransportError("too-large", `answer exceeds ${maxBytes} bytes`);
            }
            chunks.push(next.value);
        }
    }
    async next() {
        let waitedForReader = false;
        for (;;) {
            if (this.error)
                throw this.error;
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
            if (this.ended)
                return { done: true, value: undefined };
            await new Promise((resolve) => (this.wake = resolve));
        }
    }
    notify() {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
    }
}
//# sourceMappingURL=sim-body.js.map
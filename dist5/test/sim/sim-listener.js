import { TransportError } from "../../src/platform/transport.js";
/** Listener.close waits this long for exchanges in flight before resetting them (as NodeTransport). */
export const LISTENER_CLOSE_GRACE_MS = 1_000;
export class SimListener {
    time;
    node;
    options;
    exchanges = new Set();
    closing;
    onEmpty;
    constructor(time, node, options) {
        this.time = time;
        this.node = node;
        this.options = options;
    }
    /** Counts a new connection; false when closing or at maxConnections (it is then reset). */
    accept(exchange) {
        if (this.closing)
            return false;
        const max = this.options.maxConnections;
        if (max !== undefined && this.exchanges.size >= max)
            return false;
        this.exchanges.add(exchange);
        this.notify();
        return true;
    }
    /** The exchange is over on the listener's side; idempotent. */
    release(exchange) {
        if (!this.exchanges.delete(exchange))
            return;
        this.notify();
        if (this.exchanges.size === 0)
            this.onEmpty?.();
    }
    close() {
        this.closing ??= new Promise((resolve) => {
            if (this.exchanges.size === 0) {
                this.time.nextTurn(resolve);
                return;
            }
            const grace = this.time.setTimer(LISTENER_CLOSE_GRACE_MS, () => {
                for (const exchange of [...this.exchanges]) {
                    exchange.fail(new TransportError("reset", "the listener closed"));
                }
            });
            this.onEmpty = () => {
                grace.cancel();
                resolve();
            };
        });
        return this.closing;
    }
    /** The node died: stop accepting, and reset every exchange at once (no grace). */
    reset() {
        this.closing ??= Promise.resolve();
        for (const exchange of [...this.exchanges]) {
            exchange.fail(new TransportError("reset", "the listening node died"));
        }
    }
    notify() {
        const open = this.exchanges.size;
        if (this.options.onConnectionsChanged)
            this.time.nextTurn(() => this.options.onConnectionsChanged?.(open));
    }
}
//# sourceMappingURL=sim-listener.js.map
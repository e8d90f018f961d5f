import { prng } from "../helpers/prng.js";
export const NO_FAULTS = Object.freeze({
    latencyMs: 0,
    jitterMs: 0,
    bytesPerSecond: undefined,
    resetProbability: 0,
    blocked: false,
    readerDelayMs: 0,
    maxSegmentBytes: undefined,
});
/** How often a packet on a blocked link is tried again, ms (TCP's minimum RTO is 200 ms). */
export const RETRANSMIT_MS = 200;
/** Bytes a request or answer head counts for against the bandwidth. */
export const HEAD_BYTES = 200;
/** Default bound of one connection's unread bytes (in flight plus buffered at the reader). */
export const DEFAULT_CONNECTION_BUFFER_BYTES = 256 * 1024;
/** First port handed out for ListenOptions.port 0, per host. */
const FIRST_EPHEMERAL_PORT = 40_000;
export class SimNetwork {
    time;
    seed;
    connectionBufferBytes;
    /** Every random decision of the network, in the order they are made. */
    random;
    faults = new Map();
    /** When each directed link finishes sending what is queued on it (bandwidth), monotonic ms. */
    linkBusyUntilMs = new Map();
    listeners = new Map();
    hostOwners = new Map();
    nextPorts = new Map();
    constructor(options) {
        this.time = options.time;
        this.seed = options.seed;
        this.connectionBufferBytes = options.connectionBufferBytes ?? DEFAULT_CONNECTION_BUFFER_BYTES;
        this.random = prng(options.seed);
    }
    /** Faults of the directed link from -> to (merged into what was set before). */
    setLink(from, to, faults) {
        this.faults.set(linkKey(from, to), { ...this.link(from, to), ...faults });
    }
    /** Faults of both directions between a and b. */
    setLinks(a, b, faults) {
        this.setLink(a, b, faults);
        this.setLink(b, a, faults);
    }
    link(from, to) {
        return this.faults.get(linkKey(from, to)) ?? NO_FAULTS;
    }
    /** One-way partition: connections `from` opens to `to` are blackholed; `to`'s to `from` work. */
    partition(from, to) {
        this.setLink(from, to, { blocked: true });
    }
    heal(from, to) {
        this.setLink(from, to, { blocked: false });
    }
    /** The node that owns `host` (listened on it), else the host itself. */
    nodeOfHost(host) {
        return this.hostOwners.get(host) ?? host;
    }
    allocatePort(host) {
        let port = this.nextPorts.get(host) ?? FIRST_EPHEMERAL_PORT;
        while (this.listeners.has(formatAddress(host, port)))
            port += 1;
        this.nextPorts.set(host, port + 1);
        return port;
    }
    register(address, host, listener) {
        this.listeners.set(address, listener);
        this.hostOwners.set(host, listener.node);
    }
    unregister(address, listener) {
        if (this.listeners.get(address) === listener)
            this.listeners.delete(address);
    }
    lookup(address) {
        return this.listeners.get(address);
    }
    /**
     * When a packet of `bytes` sent now from -> to arrives, ignoring order:
     * it waits for the link's earlier bytes (bandwidth), then latency and jitter.
     */
    arrivalMs(from, to, bytes) {
        const faults = this.link(from, to);
        const nowMs = this.time.monotonicMs();
        const key = linkKey(from, to);
        let sentMs = nowMs;
        if (faults.bytesPerSecond !== undefined) {
            sentMs = Math.max(nowMs, this.linkBusyUntilMs.get(key) ?? 0) + (bytes * 1000) / faults.bytesPerSecond;
            this.linkBusyUntilMs.set(key, sentMs);
        }
        const jitterMs = faults.jitterMs > 0 ? this.random() * faults.jitterMs : 0;
        return sentMs + faults.latencyMs + jitterMs;
    }
    /** Seeded: `chunk` cut as the link's maxSegmentBytes says (frames then straddle segments). */
    segments(from, to, chunk) {
        const max = this.link(from, to).maxSegmentBytes;
        if (max === undefined || chunk.length <= 1)
            return [chunk];
        const out = [];
        for (let offset = 0; offset < chunk.length;) {
            const size = 1 + Math.floor(this.random() * max);
            out.push(chunk.subarray(offset, offset + size));
            offset += size;
        }
        return out;
    }
    /** Seeded: does this packet reset its connection? */
    drawReset(from, to) {
        const p = this.link(from, to).resetProbability;
        return p > 0 && this.random() < p;
    }
}
export function formatAddress(host, port) {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
function linkKey(from, to) {
    return `${from}\u0000${to}`;
}
/**
 * One direction of one connection: packets in order, each delivered at
 * its arrival time (or later, behind the one before it). `onReset` runs
 * instead of a packet's delivery when the seed made it reset the connection.
 */
export class Channel {
    network;
    from;
    to;
    blocked;
    onReset;
    queue = [];
    timer;
    /** Bumped by every arm and by close: a stale nextTurn callback does nothing. */
    generation = 0;
    lastDueMs = 0;
    closed = false;
    constructor(network, from, to, 
    /** Is the connection this channel belongs to blackholed now? */
    blocked, onReset) {
        this.network = network;
        this.from = from;
        this.to = to;
        this.blocked = blocked;
        this.onReset = onReset;
    }
    send(bytes, deliver) {
        if (this.closed)
            return;
        const arrivalMs = this.network.arrivalMs(this.from, this.to, bytes);
        const reset = this.network.drawReset(this.from, this.to);
        this.lastDueMs = Math.max(this.lastDueMs, arrivalMs);
        this.queue.push({ dueMs: this.lastDueMs, reset, deliver });
        if (this.queue.length === 1)
            this.arm(this.lastDueMs);
    }
    /** Drops what is in flight; nothing is delivered after it. */
    close() {
        this.closed = true;
        this.generation += 1;
        this.timer?.cancel();
        this.queue.length = 0;
    }
    arm(dueMs) {
        const generation = ++this.generation;
        this.timer?.cancel();
        const delayMs = dueMs - this.network.time.monotonicMs();
        const fire = () => {
            if (generation === this.generation)
                this.fire();
        };
        if (delayMs <= 0)
            this.network.time.nextTurn(fire);
        else
            this.timer = this.network.time.setTimer(delayMs, fire);
    }
    fire() {
        const nowMs = this.network.time.monotonicMs();
        for (;;) {
            if (this.closed)
                return;
            const head = this.queue[0];
            if (!head)
                return;
            if (head.dueMs > nowMs) {
                this.arm(head.dueMs);
                return;
            }
            if (this.blocked()) {
                this.arm(nowMs + RETRANSMIT_MS);
                return;
            }
            this.queue.shift();
            if (head.reset) {
                this.close();
                this.onReset();
                return;
            }
            head.deliver();
        }
    }
}
//# sourceMappingURL=sim-network.js.map
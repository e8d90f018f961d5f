/**
 * A fault-injecting TCP proxy for tests and benchmarks: put it between two
 * nodes and make their link slow (latency), narrow (bandwidth cap), flaky
 * (random resets) or cut (blackhole: bytes vanish, connections hang; or
 * refuse: new connections are closed at once; or reset all now).
 *
 * This machine has no netem, so this is how WAN conditions are emulated.
 * Data is never reordered or altered; delay and bandwidth apply per
 * direction, and a full queue stops reading from the sender (backpressure),
 * as a real congested link would.
 *
 * Every random decision (which chunk resets its connection, how much
 * jitter a chunk gets) comes from the proxy's seed (test/helpers/prng.ts),
 * so a run's random stream replays from the seed its test printed; the
 * timing of real sockets still varies between runs.
 */
import net from "node:net";
import { systemClock } from "../../src/platform/clock.js";
import { prng } from "./prng.js";
const NO_FAULTS = {
    latencyMs: 0,
    jitterMs: 0,
    bandwidthBytesPerSec: 0,
    linkBandwidthBytesPerSec: 0,
    resetProbability: 0,
    blackhole: false,
    refuse: false,
};
/** Node's timers fire at best a millisecond late. */
const TIMER_SLACK_MS = 2;
/** Bytes queued per direction before the sender is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
class Shaper {
    from;
    to;
    faults;
    onBytes;
    random;
    link;
    queue = [];
    queuedBytes = 0;
    timer;
    /** When this connection is free again (bandwidth accounting). */
    busyUntilMs = 0;
    ending = false;
    constructor(from, to, faults, onBytes, random, 
    /** When the link (all connections of this direction) is free again. */
    link) {
        this.from = from;
        this.to = to;
        this.faults = faults;
        this.onBytes = onBytes;
        this.random = random;
        this.link = link;
    }
    push(chunk) {
        const f = this.faults();
        if (f.blackhole)
            return;
        const jitterMs = f.jitterMs > 0 ? this.random() * f.jitterMs : 0;
        // A chunk never overtakes the one before it: TCP keeps order, and so must the link.
        const lastDueMs = this.queue[this.queue.length - 1]?.dueMs ?? 0;
        const dueMs = Math.max(lastDueMs, systemClock.monotonicMs() + f.latencyMs + jitterMs);
        this.queue.push({ chunk, dueMs });
        this.queuedBytes += chunk.length;
        if (this.queuedBytes > HIGH_WATER_BYTES)
            this.from.pause();
        this.pump();
    }
    /** The sender finished: end the other side once everything queued has gone out. */
    end() {
        this.ending = true;
        this.pump();
    }
    stop() {
        this.timer?.cancel();
        this.timer = undefined;
        this.queue.length = 0;
    }
    pump() {
        if (this.timer)
            return;
        const now = systemClock.monotonicMs();
        const f = this.faults();
        while (this.queue.length > 0) {
            const head = this.queue[0];
            const readyAt = Math.max(head.dueMs, this.busyUntilMs, this.link.busyUntilMs);
            // Within the timer's resolution counts as due: waiting a whole timer
            // turn per chunk would make the link slower than its rate. The
            // accounting stays exact, so only a burst this short comes early.
            if (readyAt > now + TIMER_SLACK_MS) {
                this.timer = systemClock.setTimer(readyAt - now, () => {
                    this.timer = undefined;
                    this.pump();
                });
                return;
            }
            this.queue.shift();
            this.queuedBytes -= head.chunk.length;
            if (f.bandwidthBytesPerSec > 0) {
                this.busyUntilMs =
                    Math.max(this.busyUntilMs, now) + (head.chunk.length * 1000) / f.bandwidthBytesPerSec;
            }
            if (f.linkBandwidthBytesPerSec > 0) {
                this.link.busyUntilMs =
                    Math.max(this.link.busyUntilMs, now) + (head.chunk.length * 1000) / f.linkBandwidthBytesPerSec;
            }
            if (this.to.writable)
                this.to.write(head.chunk);
            this.onBytes(head.chunk.length);
            if (this.queuedBytes <= HIGH_WATER_BYTES && this.from.isPaused())
                this.from.resume();
        }
        if (this.ending && this.to.writable)
            this.to.end();
    }
}
/**
 * Sends a TCP reset where Node can do it safely, else just closes:
 * - a socket still connecting cannot be reset (Node would do it once
 *   connected, which may be never);
 * - a socket that was end()ed may have its shutdown still pending (unsent
 *   data): libuv refuses the reset then, and Node 20 marks the handle
 *   closing without ever closing it, which leaks the fd and makes the
 *   process spin forever at exit.
 */
function reset(socket) {
    if (socket.destroyed)
        return;
    if (socket.connecting || socket.writableEnded)
        socket.destroy();
    else
        socket.resetAndDestroy();
}
export class FaultProxy {
    targetHost;
    targetPort;
    seed;
    server;
    /** The random stream of every decision of this proxy, from its seed. */
    random;
    connections = new Set();
    current = { ...NO_FAULTS };
    /** The link's shared capacity per direction (linkBandwidthBytesPerSec). */
    links = { up: { busyUntilMs: 0 }, down: { busyUntilMs: 0 } };
    /** Bytes forwarded (both directions) since start. */
    forwardedBytes = 0;
    port = 0;
    constructor(targetHost, targetPort, seed) {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.seed = seed;
        this.random = prng(seed);
    }
    static async start(target, faults, options) {
        const m = /^(.*):(\d+)$/.exec(target);
        if (!m)
            throw new Error(`bad target ${target}`);
        const proxy = new FaultProxy(m[1], Number(m[2]), options.seed);
        proxy.set(faults);
        await proxy.listen();
        return proxy;
    }
    get address() {
        return `127.0.0.1:${this.port}`;
    }
    get faults() {
        return { ...this.current };
    }
    /** Changes the link's behaviour from now on (existing connections included). */
    set(faults) {
        this.current = { ...this.current, ...faults };
    }
    /** Back to a perfect link. */
    heal() {
        this.current = { ...NO_FAULTS };
    }
    /** Resets every open connection (both ends see an error). */
    resetAll() {
        for (const c of this.connections) {
            reset(c.client);
            reset(c.upstream);
        }
    }
    async close() {
        this.resetAll();
        const server = this.server;
        if (server)
            await new Promise((resolve) => server.close(() => resolve()));
    }
    async listen() {
        const server = net.createServer((client) => this.accept(client));
        await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        this.port = server.address().port;
        this.server = server;
    }
    accept(client) {
        if (this.current.refuse) {
            reset(client);
            return;
        }
        const upstream = net.connect(this.targetPort, this.targetHost);
        const faults = () => this.current;
        const count = (n) => (this.forwardedBytes += n);
        const up = new Shaper(client, upstream, faults, count, this.random, this.links.up);
        const down = new Shaper(upstream, client, faults, count, this.random, this.links.down);
        const conn = { client, upstream, shapers: [up, down] };
        this.connections.add(conn);
        const maybeReset = () => {
            if (this.current.resetProbability > 0 && this.random() < this.current.resetProbability) {
                reset(client);
                reset(upstream);
                return true;
            }
            return false;
        };
        client.on("data", (chunk) => {
            if (!maybeReset())
                up.push(chunk);
        });
        upstream.on("data", (chunk) => {
            if (!maybeReset())
                down.push(chunk);
        });
        const teardown = () => {
            up.stop();
            down.stop();
            client.destroy();
            upstream.destroy();
            this.connections.delete(conn);
        };
        client.on("close", teardown);
        upstream.on("close", teardown);
        client.on("error", () => undefined);
        upstream.on("error", () => undefined);
        client.on("end", () => up.end());
        upstream.on("end", () => down.end());
    }
}
//# sourceMappingURL=fault-proxy.js.map